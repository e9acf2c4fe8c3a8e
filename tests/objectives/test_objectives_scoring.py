"""The per-answer scoring functions behind the lm-eval task metrics."""

from __future__ import annotations

import pytest

from objectives.scoring import (
    field_matches,
    find_json_object,
    parse_json_object,
    score_date_iso,
    score_json_extract,
)

EXPECTED = {"name": "Maria Lopez", "city": "San Diego", "item": "notebook", "quantity": 3}
PERFECT = '{"name": "Maria Lopez", "city": "San Diego", "item": "notebook", "quantity": 3}'


def test_perfect_answer_scores_one_everywhere() -> None:
    assert score_json_extract(PERFECT, EXPECTED) == {
        "json_valid": 1.0,
        "field_accuracy": 1.0,
        "exact_match": 1.0,
    }


def test_key_order_and_whitespace_do_not_matter() -> None:
    answer = '  {"quantity": 3, "item": "notebook", "city": "San Diego", "name": "Maria Lopez"}\n'
    assert score_json_extract(answer, EXPECTED)["exact_match"] == 1.0


def test_partial_fields_give_fractional_accuracy() -> None:
    answer = '{"name": "Maria Lopez", "city": "Denver", "item": "notebooks", "quantity": 3}'
    scores = score_json_extract(answer, EXPECTED)
    assert scores == {"json_valid": 1.0, "field_accuracy": 0.5, "exact_match": 0.0}


def test_string_case_is_ignored_but_number_types_are_not() -> None:
    answer = '{"name": "maria lopez", "city": "SAN DIEGO", "item": "Notebook", "quantity": "3"}'
    scores = score_json_extract(answer, EXPECTED)
    assert scores["field_accuracy"] == 0.75  # "3" is a string, not the integer 3
    assert scores["exact_match"] == 0.0


def test_code_fence_is_invalid_json_but_fields_still_count() -> None:
    answer = f"```json\n{PERFECT}\n```"
    scores = score_json_extract(answer, EXPECTED)
    assert scores["json_valid"] == 0.0
    assert scores["field_accuracy"] == 1.0
    assert scores["exact_match"] == 0.0


def test_prose_around_json_is_read_leniently() -> None:
    answer = f"Sure! Here is the JSON: {PERFECT} Hope this helps."
    assert score_json_extract(answer, EXPECTED)["field_accuracy"] == 1.0
    assert score_json_extract(answer, EXPECTED)["json_valid"] == 0.0


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "I cannot help with that.",
        '{"name": "Maria Lopez", "city": ',  # cut off
        "[1, 2, 3]",
        '"just a string"',
    ],
)
def test_unparseable_answers_score_zero(answer: str) -> None:
    assert score_json_extract(answer, EXPECTED) == {
        "json_valid": 0.0,
        "field_accuracy": 0.0,
        "exact_match": 0.0,
    }


def test_extra_or_missing_keys_are_not_valid() -> None:
    extra = (
        '{"name": "Maria Lopez", "city": "San Diego", "item": "notebook", "quantity": 3, "x": 1}'
    )
    missing = '{"name": "Maria Lopez", "city": "San Diego", "item": "notebook"}'
    assert score_json_extract(extra, EXPECTED)["json_valid"] == 0.0
    assert score_json_extract(extra, EXPECTED)["field_accuracy"] == 1.0
    assert score_json_extract(missing, EXPECTED)["json_valid"] == 0.0
    assert score_json_extract(missing, EXPECTED)["field_accuracy"] == 0.75


def test_parse_helpers() -> None:
    assert parse_json_object(' {"a": 1} ') == {"a": 1}
    assert parse_json_object("[1]") is None
    assert find_json_object('noise {"a": {"b": 2}} {"c": 3}') == {"a": {"b": 2}}
    assert find_json_object("no braces") is None


def test_field_matches_rules() -> None:
    assert field_matches(3, 3) and field_matches(3.0, 3)
    assert not field_matches("3", 3)
    assert not field_matches(True, 1)
    assert field_matches(" Oslo ", "oslo")
    assert not field_matches(None, "oslo")


@pytest.mark.parametrize(
    ("answer", "exact", "parts"),
    [
        ("2012-03-18", 1.0, 1.0),
        (" 2012-03-18\n", 1.0, 1.0),
        ("2012-3-18", 0.0, 1.0),
        ("The date is 2012-03-08.", 0.0, 2 / 3),
        ("2021-04-19", 0.0, 0.0),
        ("18 March 2012", 0.0, 0.0),
    ],
)
def test_date_scores(answer: str, exact: float, parts: float) -> None:
    scores = score_date_iso(answer, "2012-03-18")
    assert scores["exact_match"] == exact
    assert scores["part_accuracy"] == pytest.approx(parts)
