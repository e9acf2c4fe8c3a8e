"""Each built-in scorer of a JSONL eval file on hand-made answers (pure functions)."""

from __future__ import annotations

import pytest

from objectives.errors import UnknownScorerError
from objectives.eval_tasks.scorers import SCORERS, ChoiceTarget, make_scorer


def test_every_scorer_declares_its_metrics_and_a_description() -> None:
    for name, kind in SCORERS.items():
        assert kind.name == name
        assert kind.metrics and kind.description
        assert kind.output_type in ("generate_until", "multiple_choice")


def test_unknown_scorer_lists_the_available_ones() -> None:
    with pytest.raises(UnknownScorerError) as err:
        make_scorer("exactmatch")
    assert str(err.value) == (
        "Unknown scorer 'exactmatch'. Available: exact_match, contains, regex, json_fields, choice"
    )


@pytest.mark.parametrize(
    ("answer", "target", "expected"),
    [
        ("  Paris \n", "Paris", 1.0),
        ("Paris", " Paris ", 1.0),
        ("paris", "Paris", 0.0),  # case matters
        ("Paris, France", "Paris", 0.0),
        ("42", 42, 1.0),  # a number target compares as its text
    ],
)
def test_exact_match_strips_whitespace_only(answer: str, target: object, expected: float) -> None:
    assert make_scorer("exact_match").score(answer, target) == {"exact_match": expected}


@pytest.mark.parametrize(
    ("answer", "target", "expected"),
    [
        ("The capital is Paris.", "Paris", 1.0),
        ("The capital is paris.", "Paris", 0.0),
        ("It is Lyon.", "Paris", 0.0),
        ("total: 1200 EUR", 1200, 1.0),
    ],
)
def test_contains_finds_the_target_anywhere(answer: str, target: object, expected: float) -> None:
    assert make_scorer("contains").score(answer, target) == {"contains": expected}


def test_regex_compares_the_first_group_or_the_whole_match() -> None:
    grouped = make_scorer("regex", pattern=r"Answer:\s*(\w+)")
    assert grouped.score("Let me think. Answer: B", "B") == {"regex_match": 1.0}
    assert grouped.score("Answer: C", "B") == {"regex_match": 0.0}
    assert grouped.score("B", "B") == {"regex_match": 0.0}  # no match at all
    whole = make_scorer("regex", pattern=r"\d{4}-\d{2}-\d{2}")
    assert whole.score("It was on 2024-03-05.", "2024-03-05") == {"regex_match": 1.0}


def test_regex_needs_a_valid_pattern_and_others_take_none() -> None:
    with pytest.raises(ValueError, match="needs a `pattern`"):
        make_scorer("regex")
    with pytest.raises(ValueError):
        make_scorer("regex", pattern="(unclosed")
    with pytest.raises(ValueError, match="applies only to"):
        make_scorer("contains", pattern="x")


TARGET = {"vendor": "Acme Tools", "amount": 42.5, "currency": "EUR"}


@pytest.mark.parametrize(
    ("answer", "field_accuracy", "exact"),
    [
        ('{"vendor": "Acme Tools", "amount": 42.50, "currency": "EUR"}', 1.0, 1.0),
        ('{"currency": "eur", "amount": 42.5, "vendor": " acme tools"}', 1.0, 1.0),
        ('{"vendor": "Acme", "amount": 42.5, "currency": "EUR"}', 2 / 3, 0.0),
        ('{"vendor": "Acme Tools", "amount": "42.5", "currency": "EUR"}', 2 / 3, 0.0),
        ('{"vendor": "Acme Tools", "amount": 42.5, "currency": "EUR", "x": 1}', 1.0, 0.0),
        ('```json\n{"vendor": "Acme Tools", "amount": 42.5, "currency": "EUR"}\n```', 1.0, 1.0),
    ],
)
def test_json_fields_scores_the_share_of_matching_keys(
    answer: str, field_accuracy: float, exact: float
) -> None:
    scores = make_scorer("json_fields").score(answer, TARGET)
    assert scores == {"field_accuracy": field_accuracy, "json_valid": 1.0, "exact_match": exact}


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "Sure! " + '{"vendor": "Acme Tools", "amount": 42.5, "currency": "EUR"}',  # prose: invalid
        '{"vendor": "Acme Tools", ',
        '["Acme Tools", 42.5, "EUR"]',
    ],
)
def test_json_fields_scores_invalid_json_zero(answer: str) -> None:
    scores = make_scorer("json_fields").score(answer, TARGET)
    assert scores == {"field_accuracy": 0.0, "json_valid": 0.0, "exact_match": 0.0}


def test_json_fields_reads_a_target_given_as_a_json_string() -> None:
    scorer = make_scorer("json_fields")
    answer = '{"vendor": "Acme Tools", "amount": 1, "currency": "EUR"}'
    assert scorer.score(answer, '{"vendor": "Acme Tools", "currency": "EUR"}')["exact_match"] == 0
    assert scorer.score(answer, '{"vendor": "Acme Tools", "amount": 1}')["field_accuracy"] == 1
    assert scorer.target_problem("not json") is not None
    assert scorer.target_problem({}) is not None
    assert scorer.target_problem(TARGET) is None


def test_choice_picks_the_most_likely_choice_and_normalises_by_length() -> None:
    target = ChoiceTarget(("EUR", "US dollar"), gold=1)
    scorer = make_scorer("choice")
    # Raw: EUR is likelier (-3 > -4); per character the long choice wins (-4/9 > -3/3).
    assert scorer.score([-3.0, -4.0], target) == {"acc": 0.0, "acc_norm": 1.0}
    assert scorer.score([-9.0, -4.0], target) == {"acc": 1.0, "acc_norm": 1.0}
    assert scorer.target_problem(True) is not None
    assert scorer.target_problem(1) is None and scorer.target_problem("EUR") is None
