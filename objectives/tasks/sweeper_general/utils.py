"""lm-eval hooks for ``sweeper_general`` (loaded by file path through ``!function``)."""

from __future__ import annotations

import datasets

from objectives.task_data import read_jsonl

EVAL_FILE = "general_eval.jsonl"


def load_eval_split(**_: object) -> datasets.DatasetDict:
    """The bundled eval file as the ``test`` split (no download, no datasets cache)."""
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(read_jsonl(EVAL_FILE))})
