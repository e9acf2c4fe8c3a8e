"""A user's own evaluation through the real CLI: bad ``eval`` input gets one line and exit 2
before anything trains, and a user-style study (tests/data/user_study/: its own train and eval
JSONL, a JSONL + scorer task and an include_path task folder) runs end to end on the tiny model,
with its metrics in MLflow and in ``sweeper show``."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import mlflow
import pytest
import yaml

from sweeper.cli import main

REPO = Path(__file__).resolve().parents[3]
USER_STUDY = REPO / "tests" / "data" / "user_study"


@pytest.fixture
def user_study(tmp_path: Path) -> Path:
    """A copy of the user-style study folder (relative paths and all)."""
    folder = tmp_path / "invoices"
    shutil.copytree(USER_STUDY, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def write_study(folder: Path, changes: dict, model_dir: Path | None = None) -> Path:
    data = yaml.safe_load((USER_STUDY / "invoices.yaml").read_text())
    data = copy.deepcopy(data)
    if model_dir is not None:
        data["model"]["path"] = str(model_dir)
    data["eval"].update(changes)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


QUALITY = {"file": "data/eval.jsonl", "scorer": "json_fields"}
FIELDS = {"prompt": "question", "target": "answer"}


@pytest.mark.parametrize(
    ("eval_changes", "field", "says"),
    [
        (
            {"tasks": {"quality": "sweeper_jsn_extract"}},
            "eval.tasks.quality",
            "got 'sweeper_jsn_extract'; no lm-eval task or group of that name; did you mean "
            "'sweeper_json_extract'",
        ),
        (
            {"tasks": {"quality": {"task": "sweeper_general", "metric": "accuracy"}}},
            "eval.tasks.quality.metric",
            "task 'sweeper_general' reports: acc, acc_norm",
        ),
        (
            {"include_path": "my_tasks/", "tasks": {"quality": "currency_codes"}},
            "eval.include_path",
            "no such folder",
        ),
        (
            {"tasks": {"quality": QUALITY | {"file": "data/missing.jsonl", "fields": FIELDS}}},
            "eval.tasks.quality.file",
            "no such file",
        ),
        (
            {"tasks": {"quality": QUALITY}},
            "eval.tasks.quality.fields.prompt",
            "eval.jsonl line 1 has no key 'prompt' (its keys: question, answer)",
        ),
        (
            {"tasks": {"quality": QUALITY | {"fields": FIELDS, "scorer": "json"}}},
            "eval.tasks.quality.scorer",
            "Unknown scorer 'json'. Available: exact_match, contains, regex, json_fields, choice",
        ),
        (
            {"tasks": {"quality": QUALITY | {"fields": FIELDS, "scorer": "regex"}}},
            "eval.tasks.quality.pattern",
            "needs a `pattern`",
        ),
        (
            {"tasks": {"quality": {"task": "currency_codes", "file": "data/eval.jsonl"}}},
            "eval.tasks",
            "give either `task`",
        ),
        (
            {"tasks": {"quality": QUALITY | {"fields": FIELDS, "shots": 3}}},
            "eval.tasks.quality.shots",
            "valid keys here: task, file, scorer, fields, pattern, metric, num_fewshot",
        ),
        (
            {"tasks": {"quality": {"task": "currency_codes", "num_fewshot": -1}}},
            "eval.tasks.quality.num_fewshot",
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_eval_input_is_one_line_and_exit_2(
    user_study: Path, capsys, eval_changes: dict, field: str, says: str
) -> None:
    path = write_study(user_study, eval_changes)
    code = main(["quote", str(path)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"error: {path}: field '{field}"), lines[0]
    assert says in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_malformed_eval_line_is_named_by_its_number(user_study: Path, capsys) -> None:
    eval_file = user_study / "data" / "eval.jsonl"
    lines = eval_file.read_text().splitlines()
    lines[6] = lines[6][:-5]  # cut off line 7
    eval_file.write_text("\n".join(lines) + "\n")
    path = write_study(user_study, {})
    assert main(["quote", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"error: {path}: field 'eval.tasks.quality.file': got 'data/eval.jsonl'; "
    )
    assert "eval.jsonl line 7 is not valid JSON" in err and "\n" not in err


def test_registry_task_offline_is_one_line_naming_its_dataset(user_study: Path, capsys) -> None:
    path = write_study(user_study, {"tasks": {"quality": "arc_easy"}})
    assert main(["quote", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}: field 'eval.tasks.quality': got 'arc_easy'; ")
    assert "task 'arc_easy' needs the dataset 'allenai/ai2_arc'" in err
    assert "offline" in err and "\n" not in err


def test_user_study_end_to_end_on_the_tiny_model(
    user_study: Path, tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    data = yaml.safe_load((user_study / "invoices.yaml").read_text())
    data["model"]["path"] = str(tiny_model_dir)
    data["training"] = {"steps_per_epoch": 2, "batch_size": 2, "seq_len": 128}
    data["eval"]["limit"] = 4
    data["eval"]["batch_size"] = 4
    data["eval"]["tasks"]["quality"]["max_gen_toks"] = 12
    data["trials"] = 2
    study = user_study / "invoices.yaml"
    study.write_text(yaml.safe_dump(data, sort_keys=False))
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"

    assert main(["run", str(study), "--storage", storage, "--tracking-uri", tracking]) == 0
    mlflow.set_tracking_uri(tracking)
    runs = mlflow.search_runs(experiment_names=["invoices"], output_format="pandas")
    children = runs[runs["tags.sweeper.role"] == "trial"]
    parent = runs[runs["tags.sweeper.role"] == "parent"]
    assert len(children) == 2 and set(children["tags.sweeper.state"]) == {"COMPLETE"}
    for metric in (
        "quality",  # JSONL + json_fields
        "quality_stderr",
        "quality_json_valid",
        "quality_exact_match",
        "currency",  # the include_path task
        "currency_stderr",
        "currency_acc_norm",
    ):
        values = children[f"metrics.{metric}"]
        assert values.notna().all() and values.between(0, 1).all(), metric
    assert parent["metrics.baseline_quality"].notna().all()
    assert parent["metrics.baseline_currency"].notna().all()

    capsys.readouterr()
    assert main(["show", str(study), "--storage", storage, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    for trial in shown["trials"]:
        assert {"quality", "quality_stderr", "currency", "currency_stderr"} <= set(trial["metrics"])
    run_children = children.set_index("tags.sweeper.trial_number")
    for trial in shown["trials"]:
        assert trial["metrics"]["quality"] == pytest.approx(
            run_children.loc[str(trial["number"]), "metrics.quality"]
        )
