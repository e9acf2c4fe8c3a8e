"""lm-eval hooks for ``sweeper_date_iso`` (loaded by file path through ``!function``)."""

from __future__ import annotations

import datasets

from objectives.scoring import score_date_iso
from objectives.task_data import read_jsonl

EVAL_FILE = "date_iso_eval.jsonl"


def load_eval_split(**_: object) -> datasets.DatasetDict:
    """The bundled eval file as the ``test`` split (no download, no datasets cache)."""
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(read_jsonl(EVAL_FILE))})


def process_results(doc: dict, results: list[str]) -> dict[str, float]:
    return score_date_iso(results[0], doc["completion"])
