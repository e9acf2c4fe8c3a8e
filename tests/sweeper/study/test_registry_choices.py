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
