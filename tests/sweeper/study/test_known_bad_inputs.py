"""The bad study files issue 12 found by hand: each one is refused at load, in one line that names
the field, instead of crashing a trial, Optuna or the ledger later."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from sweeper.cli import main
from sweeper.errors import StudyFileError
from sweeper.study import load_study

REPO = Path(__file__).resolve().parents[3]
DEMO = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())


def with_change(dotted: str, value: Any) -> dict:
    data = copy.deepcopy(DEMO)
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return data


def refused(tmp_path: Path, data: dict | str) -> StudyFileError:
    path = tmp_path / "study.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(StudyFileError) as info:
        load_study(path, check_workload=True)
    return info.value


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("trials", 1e12, "less than or equal to 100000"),
        ("trials", True, "a number is required, but got True"),
        ("seed", -1, "greater than or equal to 0"),
        ("seed", 2**32, "less than or equal to 4294967295"),
        ("budget_eur", 9.3e12, "less than or equal to 1000000000000"),
        ("budget_eur", math.inf, "finite number"),
        ("hardware.trial.eur_per_hour", math.inf, "finite number"),
        ("hardware.trial.eur_per_hour", math.nan, "finite number"),
        ("projection.dataset_tokens", math.inf, "finite number"),
        ("serving.tokens_per_month", math.inf, "finite number"),
        ("name", ".", "cannot be '.'"),
        ("name", "..", "cannot be '..'"),
        ("name", "a" * 201, "at most 200 characters"),
        ("name", "../etc", "should match pattern"),
        ("name", "a/b", "should match pattern"),
        ("name", "a\\b", "should match pattern"),
        ("training.steps_per_epoch", 10**30, "less than or equal to"),
        ("training.batch_size", False, "a number is required"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field(
    tmp_path: Path, field: str, value: Any, valid: str
) -> None:
    error = refused(tmp_path, with_change(field, value))
    assert error.field == field
    assert valid in error.valid


@pytest.mark.parametrize("step", [0, -0.1])
def test_a_range_step_must_be_positive(tmp_path: Path, step: float) -> None:
    error = refused(
        tmp_path, with_change("search_space.merge_weight", {"low": 0.5, "high": 0.9, "step": step})
    )
    assert error.field == "search_space.merge_weight"
    assert "`step > 0` must hold" in error.valid


def test_a_nan_constraint_bound_is_refused_before_optuna_sees_it(tmp_path: Path) -> None:
    error = refused(
        tmp_path, with_change("constraints", [{"metric": "retention", "min": math.nan}])
    )
    assert error.field == "constraints.0.min" and "finite" in error.valid


@pytest.mark.parametrize(
    ("dimension", "spec", "valid"),
    [
        ("lora_r", {"value": 1e300}, "must be <= 4096"),
        ("epochs", {"choices": [1, 10**9]}, "must be <= 1000"),
        ("learning_rate", {"low": 1e-4, "high": math.inf}, "finite number"),
        ("lora_dropout", {"value": True}, "lora_dropout must be in [0, 1)"),
        ("quantization", {"choices": [["int8"]]}, "unknown quantization"),
    ],
)
def test_bad_search_dimensions(tmp_path: Path, dimension: str, spec: dict, valid: str) -> None:
    error = refused(tmp_path, with_change(f"search_space.{dimension}", spec))
    assert error.field.startswith(f"search_space.{dimension}")
    assert valid in error.valid


def test_a_duplicate_key_names_the_key_and_its_lines(tmp_path: Path) -> None:
    text = (
        (REPO / "studies" / "demo.yaml").read_text().replace("trials: 6", "trials: 6\ntrials: 60")
    )
    error = refused(tmp_path, text)
    line = text.splitlines().index("trials: 60") + 1
    assert error.value == f"line {line}, column 1"
    assert f"duplicate key 'trials' (first on line {line - 1})" in error.valid


def test_a_missing_model_folder_is_caught_at_load(tmp_path: Path) -> None:
    error = refused(tmp_path, with_change("model.path", str(tmp_path / "no-such-model")))
    assert error.field == "model.path" and "no such model folder" in error.valid


def test_a_folder_without_config_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    error = refused(tmp_path, with_change("model.path", str(tmp_path / "empty")))
    assert error.field == "model.path" and "no config.json" in error.valid


def test_an_unknown_bundled_model_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path, with_change("model.path", "builtin:gpt-5"))
    assert "available: builtin:smollm2-135m-instruct" in error.valid


def test_a_hub_id_not_in_the_cache_is_refused_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    error = refused(tmp_path, with_change("model.path", "nobody/no-such-model"))
    assert "HF_HUB_OFFLINE" in error.valid


@pytest.mark.parametrize(
    ("content", "field", "valid"),
    [
        ("", "(file)", "a training file needs at least one record"),
        ("\n\n", "(file)", "a training file needs at least one record"),
        ('{"prompt": "a", "completion": "b"}\nnot json\n', "line 2", "not valid JSON"),
        ('{"prompt": "a"}\n', "line 1", "no known format matches the first record"),
        ("[1, 2]\n", "line 1", "each record must be a JSON object"),
        (b"\xff\xfe\x00garbage", "data.train", "not a readable UTF-8 file"),
    ],
)
def test_a_malformed_training_file_is_caught_at_load(
    tmp_path: Path, content: str | bytes, field: str, valid: str
) -> None:
    """The error names the training file itself and the line in it (or the study field when the
    file cannot be read at all)."""
    train = tmp_path / "train.jsonl"
    if isinstance(content, bytes):
        train.write_bytes(content)
    else:
        train.write_text(content)
    error = refused(tmp_path, with_change("data.train", "train.jsonl"))
    assert error.field == field and valid in error.valid
    assert str(train) in str(error)


def test_a_merge_partners_training_file_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    data = with_change("merge.partners", [{"name": "date", "train": "empty.jsonl"}])
    error = refused(tmp_path, data)
    assert error.path == str(tmp_path / "empty.jsonl") and "at least one record" in error.valid


def test_the_error_quotes_a_bounded_part_of_a_huge_value(tmp_path: Path) -> None:
    huge = "x" * 100_000
    for field, value in [
        ("name", huge),
        ("search_space.lora_r", {"choices": [huge]}),
        ("search_space.target_modules", {"choices": [huge]}),
        ("eval.tasks", {huge: "sweeper_json_extract"}),
    ]:
        message = str(refused(tmp_path, with_change(field, value)))
        assert len(message) < 1200 and "\n" not in message, field


def test_the_cli_answers_a_known_case_in_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(with_change("trials", 1e12)))
    assert main(["quote", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field 'trials'" in err and "Traceback" not in err
