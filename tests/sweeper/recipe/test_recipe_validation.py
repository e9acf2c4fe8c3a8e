"""Malformed merge, quantization, serving and constraint sections get the one-line error."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sweeper.cli import main
from sweeper.errors import StudyFileError
from sweeper.study import load_study

REPO = Path(__file__).resolve().parents[3]
RECIPE = yaml.safe_load((REPO / "studies" / "recipe.yaml").read_text())
DELETE = object()


def mutated(**changes) -> dict:
    data = copy.deepcopy(RECIPE)
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return data


@pytest.mark.parametrize("name", ["merge", "quantize", "recipe", "demo"])
def test_shipped_studies_load(name: str) -> None:
    loaded = load_study(REPO / "studies" / f"{name}.yaml")
    assert loaded.name == name


@pytest.mark.parametrize(
    ("changes", "field", "value_text", "valid_text"),
    [
        (
            {"search_space__quantization": {"choices": ["fp32", "int3"]}},
            "search_space.quantization",
            "int3",
            "int4",
        ),
        (
            {"search_space__merge_method": {"choices": ["none", "average"]}},
            "search_space.merge_method",
            "average",
            "dare_ties",
        ),
        (
            {"search_space__merge_weight": {"low": 0.5, "high": 1.5}},
            "search_space.merge_weight",
            "1.5",
            "(0, 1]",
        ),
        (
            {"search_space__merge_density": {"choices": [0, 0.5]}},
            "search_space.merge_density",
            "0",
            "(0, 1]",
        ),
        ({"merge": DELETE}, "merge", "None", "declare `merge.partners`"),
        ({"merge__partners": []}, "merge.partners", "[]", "at least 1"),
        (
            {"merge__partners__0__path": "./somewhere"},
            "merge.partners.0",
            "",
            "exactly one of `train`",
        ),
        (
            {"merge__partners__0__train": "builtin:nope.jsonl"},
            "merge.partners.0.train",
            "builtin:nope.jsonl",
            "available",
        ),
        (
            {"merge__partners__0__lora": {"r": 0}},
            "merge.partners.0.lora.r",
            "0",
            "greater than 0",
        ),
        (
            {"merge__partners__0__lora": {"rank": 8}},
            "merge.partners.0.lora.rank",
            "rank",
            "alpha_ratio",
        ),
        ({"merge__dtype": "int8"}, "merge.dtype", "int8", "bfloat16"),
        (
            {
                "search_space__merge_method": {"choices": ["slerp"]},
                "merge__partners": [
                    {"name": "a", "train": "builtin:date_iso_train.jsonl"},
                    {"name": "b", "train": "builtin:date_iso_train.jsonl"},
                ],
            },
            "merge.partners",
            "2",
            "exactly two models",
        ),
        (
            {
                "merge__partners": [
                    {"name": "a", "train": "builtin:date_iso_train.jsonl"},
                    {"name": "a", "train": "builtin:json_extract_train.jsonl"},
                ],
            },
            "merge.partners.1.name",
            "a",
            "unique",
        ),
        (
            {"search_space__target_instance": {"choices": ["g5.xlargee"]}},
            "search_space.target_instance",
            "g5.xlargee",
            "Did you mean",
        ),
        (
            {"search_space__target_pricing": {"choices": ["reserved_3y"]}},
            "search_space.target_pricing",
            "reserved_3y",
            "priced there",
        ),
        ({"serving": DELETE}, "serving", "None", "needs a `serving` section"),
        ({"serving__tokens_per_month": -5}, "serving.tokens_per_month", "-5", "greater than 0"),
        ({"serving__instance": "p9.huge"}, "serving.instance", "p9.huge", "instance"),
        (
            {"constraints": [{"metric": "retention", "min_vs_baseline": -0.05, "max": 1}]},
            "constraints.0",
            "",
            "exactly one of min, max, min_vs_baseline",
        ),
        (
            {"constraints": [{"metric": "retentoin", "min": 0.5}]},
            "constraints.0.metric",
            "retentoin",
            "valid metrics",
        ),
        (
            {"constraints": ["fits_everything"]},
            "constraints.0",
            "",
            "fits_serving_memory",
        ),
        (
            {"constraints": ["fits_serving_memory"]},
            "constraints.0.name",
            "fits_serving_memory",
            "serving.instance",
        ),
        (
            {"sampler": {"name": "grid"}},
            "search_space.merge_weight",
            "",
            "grid sampler",
        ),
    ],
)
def test_malformed_recipe_section_one_line(
    tmp_path: Path, changes: dict, field: str, value_text: str, valid_text: str
) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(mutated(**changes)))
    with pytest.raises(StudyFileError) as info:
        load_study(path)
    err = info.value
    message = str(err)
    assert message.startswith(str(path)), message
    assert err.field == field, message
    assert value_text in message, message
    assert valid_text in message, message
    assert "\n" not in message


def test_cli_prints_one_line_and_exits_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(mutated(search_space__quantization={"value": "int2"})))
    assert main(["quote", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "search_space.quantization" in err and "int2" in err and "int4" in err
