"""``{"prompt": ..., "completion": ...}``: one user message and the exact answer to learn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.train_data._base import TrainFormat, string_field
from objectives.train_data._examples import PromptCompletion, TrainExample
from objectives.train_data._registry import register_format


class PromptCompletionFormat(TrainFormat):
    name = "prompt_completion"
    fields = ("prompt", "completion")
    description = "{prompt, completion}: loss on the completion"

    def parse(self, record: Mapping[str, Any], keys: Mapping[str, str]) -> TrainExample:
        return PromptCompletion(
            string_field(record, keys, "prompt"), string_field(record, keys, "completion")
        )


register_format(PromptCompletionFormat(), order=30)
