"""Alpaca's ``{"instruction", "input", "output"}``: the instruction, then the input (if any)
after a blank line, is the prompt; the output is the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.train_data._base import TrainFormat, string_field
from objectives.train_data._examples import PromptCompletion, TrainExample
from objectives.train_data._registry import register_format


class AlpacaFormat(TrainFormat):
    name = "alpaca"
    fields = ("instruction", "output")
    optional_fields = ("input",)
    description = "{instruction, input, output}: loss on the output"

    def parse(self, record: Mapping[str, Any], keys: Mapping[str, str]) -> TrainExample:
        instruction = string_field(record, keys, "instruction")
        extra = string_field(record, keys, "input", default="")
        prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        return PromptCompletion(prompt, string_field(record, keys, "output"))


register_format(AlpacaFormat(), order=20)
