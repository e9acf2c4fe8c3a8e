"""``{"text": ...}``: plain text, every token of which is learnt."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.train_data._base import RecordError, TrainFormat, string_field
from objectives.train_data._examples import PlainText, TrainExample
from objectives.train_data._registry import register_format


class TextFormat(TrainFormat):
    name = "text"
    fields = ("text",)
    description = "{text}: loss on all tokens"

    def parse(self, record: Mapping[str, Any], keys: Mapping[str, str]) -> TrainExample:
        text = string_field(record, keys, "text")
        if not text.strip():
            raise RecordError(keys["text"], text, "a non-empty text is required")
        return PlainText(text)


register_format(TextFormat(), order=40)
