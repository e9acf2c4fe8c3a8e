"""Every malformed study file gets one line naming the file, the field, the value and what is
valid."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sweeper.cli import main
from sweeper.errors import StudyFileError
from sweeper.study import load_study

REPO = Path(__file__).resolve().parents[3]
DEMO = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def mutated(**changes) -> dict:
    data = copy.deepcopy(DEMO)
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[p]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return data


DELETE = object()


def test_demo_study_is_valid() -> None:
    loaded = load_study(REPO / "studies" / "demo.yaml")
    assert loaded.objective_names == [
        "quality",
        "cost_eur_train_projected",
        "cost_eur_serving_month",
    ]
    assert loaded.directions == ["maximize", "minimize", "minimize"]
    assert loaded.train_file.is_file()
    assert len(loaded.sha256) == 64


def test_bundled_name_resolves() -> None:
    assert load_study("demo").name == "demo"


@pytest.mark.parametrize(
    ("changes", "field", "value_text", "valid_text"),
    [
        ({"trainig": {"steps_per_epoch": 3}}, "trainig", "'trainig'", "valid keys here"),
        ({"training__batchsize": 4}, "training.batchsize", "'batchsize'", "batch_size"),
        ({"training__steps_per_epoch": "many"}, "training.steps_per_epoch", "'many'", "integer"),
        ({"search_space__lora_r": {"choices": [0, 8]}}, "search_space.lora_r", "0", "> 0"),
        ({"search_space__lora_r": {"choices": [-4]}}, "search_space.lora_r", "-4", "> 0"),
        (
            {"search_space__lora_r": {"choices": []}},
            "search_space.lora_r.choices",
            "[]",
            "non-empty",
        ),
        (
            {"search_space__learning_rate": {"low": 0.01, "high": 0.001}},
            "search_space.learning_rate",
            "",
            "low < high",
        ),
        ({"search_space__rank": {"choices": [4]}}, "search_space.rank", "'rank'", "lora_r"),
        (
            {"search_space__target_modules": {"choices": ["qv"]}},
            "search_space.target_modules",
            "qv",
            "all_linear",
        ),
        ({"search_space": {"lora_r": 8}}, "search_space", "", "search space is empty"),
        ({"search_space": {}}, "search_space", "", "search space is empty"),
        ({"data__train": "missing.jsonl"}, "data.train", "'missing.jsonl'", "no such file"),
        ({"data__train": "builtin:nope.jsonl"}, "data.train", "'builtin:nope.jsonl'", ""),
        (
            {"objectives": [{"name": "qualty"}]},
            "objectives.0.name",
            "'qualty'",
            "did you mean 'quality'? valid metrics: date_skill, quality",
        ),
        (
            {"objectives": [{"name": "quality", "direction": "up"}]},
            "objectives.0.direction",
            "'up'",
            "maximize",
        ),
        ({"objectives": []}, "objectives", "[]", "at least 1"),
        (
            {"eval__tasks__quality": "sweeper_jsn"},
            "eval.tasks.quality",
            "'sweeper_jsn'",
            "available",
        ),
        (
            {"hardware__target__instance": "Standard_NC24ads_A100_v5"},
            "hardware.target.instance",
            "'Standard_NC24ads_A100_v5'",
            "Did you mean",
        ),
        ({"hardware__target__pricing": "cheap"}, "hardware.target.pricing", "'cheap'", "on_demand"),
        ({"data": DELETE}, "data", "None", "required"),
        ({"version": 2}, "version", "2", "1"),
    ],
)
def test_malformed_study_names_file_field_value_and_valid(
    tmp_path: Path, changes: dict, field: str, value_text: str, valid_text: str
) -> None:
    path = write(tmp_path, mutated(**changes))
    with pytest.raises(StudyFileError) as info:
        load_study(path, check_workload=True)
    err = info.value
    message = str(err)
    assert message.startswith(str(path)), message
    assert err.field == field, message
    assert value_text in message, message
    assert valid_text in message, message
    assert "\n" not in message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: demo\nsearch_space: {lora_r: [4, 8\n")
    with pytest.raises(StudyFileError) as info:
        load_study(path)
    assert "line" in str(info.value) and str(path) in str(info.value)


def test_missing_study_file_lists_bundled(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError) as info:
        load_study(tmp_path / "nope.yaml")
    assert "no such file" in str(info.value)


@pytest.mark.parametrize("command", ["run", "quote", "show"])
def test_cli_prints_one_line_and_exits_2(tmp_path: Path, capsys, command: str) -> None:
    path = write(tmp_path, mutated(search_space__lora_r={"choices": [0]}))
    code = main([command, str(path)])
    captured = capsys.readouterr()
    assert code == 2
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "search_space.lora_r" in lines[0] and str(path) in lines[0]
    assert "Traceback" not in captured.err + captured.out
