"""Study-file dimensions whose values are a registry's names (quantization levels, merge
methods) are validated against the registry, and an unknown name is answered in the registries'
words: the file, the field, the value, then "Unknown <kind> 'x'. Available: ..."."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from objectives import MERGERS, QUANTIZERS
from sweeper.study import load_study
from tests.sweeper.study.test_known_bad_inputs import refused, with_change


@pytest.mark.parametrize(
    ("dimension", "bad", "expected"),
    [
        (
            "quantization",
            "int3",
            f"Unknown quantization level 'int3'. Available: {', '.join(QUANTIZERS.names())}",
        ),
        (
            "merge_method",
            "task_soup",
            f"Unknown merge method 'task_soup'. Available: none, {', '.join(MERGERS.names())}",
        ),
    ],
)
def test_an_unknown_name_lists_the_registry(
    tmp_path: Path, dimension: str, bad: str, expected: str
) -> None:
    error = refused(tmp_path, with_change(f"search_space.{dimension}", {"choices": [bad]}))
    assert error.field.startswith(f"search_space.{dimension}")
    assert bad in str(error.value)
    assert expected in error.valid
    assert str(error).startswith(str(tmp_path / "study.yaml"))


@pytest.mark.parametrize("level", QUANTIZERS.names())
def test_every_registered_level_is_accepted(tmp_path: Path, level: str) -> None:
    path = tmp_path / "study.yaml"
    data = with_change("search_space.quantization", {"value": level})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_study(path).spec.search_space.quantization.value == level


def test_a_method_that_merges_an_exact_number_of_models_asks_for_that_many_partners(
    tmp_path: Path,
) -> None:
    """slerp declares ``exact_models = 2`` (the trained adapter and one partner); the schema reads
    the method's attribute, not its name."""
    partner = {
        "name": "date",
        "train": "builtin:date_iso_train.jsonl",
        "lora": {"r": 4, "alpha_ratio": 2, "learning_rate": 2.0e-3, "epochs": 1},
    }
    data = with_change("search_space.merge_method", {"value": "slerp"})
    data["merge"] = {"partners": [partner, {**partner, "name": "date2"}]}
    error = refused(tmp_path, data)
    assert error.field == "merge.partners"
    assert error.valid == "slerp merges exactly two models: give one partner"
    data["merge"] = {"partners": [partner]}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert load_study(path).spec.merge is not None
