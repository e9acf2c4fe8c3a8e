"""``{"messages": [{"role": ..., "content": ...}, ...]}``: a conversation; the loss is on the
assistant turns only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.train_data._base import RecordError, TrainFormat
from objectives.train_data._examples import CHAT_ROLES, Chat, Message, TrainExample
from objectives.train_data._registry import register_format


class ChatFormat(TrainFormat):
    name = "chat"
    fields = ("messages",)
    description = "{messages: [{role, content}, ...]}: loss on the assistant turns"

    def parse(self, record: Mapping[str, Any], keys: Mapping[str, str]) -> TrainExample:
        key = keys["messages"]
        raw = record.get(key)
        if not isinstance(raw, list) or not raw:
            raise RecordError(key, raw, "a non-empty list of {role, content} messages is required")
        messages = []
        for i, item in enumerate(raw):
            where = f"{key}[{i}]"
            if not isinstance(item, Mapping):
                raise RecordError(where, item, "each message must be an object {role, content}")
            role, content = item.get("role"), item.get("content")
            if role not in CHAT_ROLES:
                raise RecordError(f"{where}.role", role, f"a role among {', '.join(CHAT_ROLES)}")
            if not isinstance(content, str):
                raise RecordError(f"{where}.content", content, "a string is required")
            messages.append(Message(role, content))
        if messages[0].role == "assistant":
            raise RecordError(
                f"{key}[0].role", "assistant", "a conversation must open with a non-assistant turn"
            )
        if not any(m.role == "assistant" for m in messages):
            raise RecordError(key, f"{len(messages)} messages", "at least one assistant turn")
        return Chat(tuple(messages))


register_format(ChatFormat(), order=10)
