"""Data hook of the ``currency_codes`` task: the quiz file next to this one, no download."""

import json
from pathlib import Path

import datasets


def load_quiz(**_: object) -> datasets.DatasetDict:
    path = Path(__file__).with_name("currency_codes.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
