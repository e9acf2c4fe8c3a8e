"""What one training record becomes, whatever file format it came in."""

from __future__ import annotations

from dataclasses import dataclass

from objectives.task_data import PromptCompletion

CHAT_ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")
"""Roles a chat message may have; the loss is on ``assistant`` turns only."""


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: str
    content: str


@dataclass(frozen=True)
class Chat:
    """A conversation; the model learns every assistant turn and none of the others."""

    messages: tuple[Message, ...]


@dataclass(frozen=True)
class PlainText:
    """A document the model learns all of (continued pre-training style)."""

    text: str


TrainExample = PromptCompletion | Chat | PlainText
"""A training example: a prompt and its answer, a conversation, or plain text."""

__all__ = ["CHAT_ROLES", "Chat", "Message", "PlainText", "PromptCompletion", "TrainExample"]
