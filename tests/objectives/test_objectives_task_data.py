"""The bundled task data: reproducible, well-formed, and with a held-out eval split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from objectives.errors import ObjectiveError
from objectives.registry import TASKS
from objectives.scoring import JSON_SCHEMA_KEYS
from objectives.task_data import DATA_DIR, read_examples, read_jsonl

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "make_task_data.py"


def test_generator_reproduces_bundled_files_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True
    )
    generated = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    assert generated == sorted(p.name for p in DATA_DIR.glob("*.jsonl"))
    for name in generated:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_check_mode_reports_stale_files(tmp_path: Path) -> None:
    run = [sys.executable, str(SCRIPT), "--out", str(tmp_path)]
    subprocess.run(run, check=True, capture_output=True)
    assert subprocess.run([*run, "--check"], capture_output=True).returncode == 0
    (tmp_path / "general_eval.jsonl").write_text("{}\n")
    stale = subprocess.run([*run, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1
    assert "general_eval.jsonl" in stale.stderr


def test_every_registered_task_has_its_files() -> None:
    for spec in TASKS.values():
        assert read_jsonl(spec.eval_file)
        if spec.train_file:
            assert read_examples(spec.train_file)


def test_json_task_schema_and_held_out_split() -> None:
    train = read_jsonl("json_extract_train.jsonl")
    evaluation = read_jsonl("json_extract_eval.jsonl")
    assert len(train) >= 300 and 50 <= len(evaluation) <= 100
    for row in train + evaluation:
        completion = json.loads(row["completion"])
        assert tuple(completion) == JSON_SCHEMA_KEYS
        assert completion == row["fields"]
        assert isinstance(completion["quantity"], int)
        assert '"name"' in row["prompt"] and "Text: " in row["prompt"]
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in evaluation}
    seen_names = {r["fields"]["name"] for r in train}
    seen_items = {r["fields"]["item"] for r in train}
    unseen = [r for r in evaluation if r["fields"]["name"] not in seen_names]
    assert len(unseen) > len(evaluation) / 3
    assert any(r["fields"]["item"] not in seen_items for r in evaluation)


def test_general_items_are_well_formed() -> None:
    items = read_jsonl("general_eval.jsonl")
    assert 50 <= len(items) <= 120
    assert len({(row["question"], tuple(row["choices"])) for row in items}) == len(items)
    for row in items:
        assert 0 <= row["answer"] < len(row["choices"])
        assert len(set(row["choices"])) == len(row["choices"])


def test_missing_file_error_names_the_fix() -> None:
    with pytest.raises(ObjectiveError, match="make_task_data.py"):
        read_jsonl("nope.jsonl")
