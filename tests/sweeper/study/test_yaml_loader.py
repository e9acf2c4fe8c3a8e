"""The study file's YAML loader refuses what ``yaml.safe_load`` lets through: duplicate keys,
alias bombs, cycles, deep nesting, oversized files; and still reads ordinary YAML, anchors and
merge keys included."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sweeper.errors import StudyFileError
from sweeper.study import load_study
from sweeper.study._yaml import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_STUDY_BYTES,
    StudyYAMLError,
    load_yaml,
)

REPO = Path(__file__).resolve().parents[3]


def billion_laughs(levels: int, width: int) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("path", sorted((REPO / "studies").glob("*.yaml")), ids=lambda p: p.name)
def test_the_bundled_studies_read_as_with_safe_load(path: Path) -> None:
    text = path.read_text()
    assert load_yaml(text) == yaml.safe_load(text)


def test_anchors_and_merge_keys_still_work() -> None:
    text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nagain: *b\n"
    assert load_yaml(text) == {
        "base": {"x": 1, "y": 2},
        "use": {"x": 1, "y": 3},
        "again": {"x": 1, "y": 2},
    }


def test_a_duplicate_key_is_refused_at_any_depth() -> None:
    with pytest.raises(StudyYAMLError, match=r"duplicate key 'lr' \(first on line 2\)") as info:
        load_yaml("outer:\n  lr: 1\n  other: 2\n  lr: 3\n")
    assert info.value.problem_mark.line + 1 == 4


def test_the_classic_billion_laughs_is_refused_quickly() -> None:
    # 9 levels of 9 references: 9**9 (387 million) strings once expanded.
    with pytest.raises(StudyYAMLError, match="aliases|expands"):
        load_yaml(billion_laughs(levels=9, width=9))


def test_a_bomb_under_the_alias_limit_is_refused_by_its_expanded_size() -> None:
    # 2 references per level over 40 levels: 80 aliases (< MAX_ALIASES), 2**40 nodes expanded.
    assert 2 * 40 <= MAX_ALIASES
    with pytest.raises(StudyYAMLError, match=f"more than {MAX_EXPANDED_NODES} nodes"):
        load_yaml(billion_laughs(levels=40, width=2))


def test_too_many_aliases_are_refused() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(StudyYAMLError, match=f"more than {MAX_ALIASES} aliases"):
        load_yaml(text)


def test_a_self_referencing_node_is_refused() -> None:
    with pytest.raises(StudyYAMLError, match="a cycle"):
        load_yaml("a: &a [1, *a]\n")


def test_deep_nesting_is_refused_before_the_recursion_limit() -> None:
    with pytest.raises(StudyYAMLError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_yaml("a: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert load_yaml("a: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)) is not None


def test_an_oversized_file_is_refused_unread() -> None:
    with pytest.raises(StudyYAMLError, match=f"larger than {MAX_STUDY_BYTES} bytes"):
        load_yaml("description: " + "x" * MAX_STUDY_BYTES)


def test_python_tags_stay_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: !!python/object/apply:os.system ['true']\n")


@pytest.mark.parametrize(
    "text",
    [
        billion_laughs(levels=9, width=9),
        "name: &a [1, *a]\n",
        "name: " + "[" * 5000 + "]" * 5000 + "\n",
        "name: x\nname: y\n",
        "name: [unclosed\n",
        "\ttabs: 1\n",
    ],
)
def test_load_study_turns_each_into_one_study_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(StudyFileError) as info:
        load_study(path)
    assert info.value.field == "(YAML)" and "\n" not in str(info.value)
