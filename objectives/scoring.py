"""Scoring one generated answer against its reference: pure functions, no I/O.

Used by the lm-eval task files (``tasks/*/utils.py``) and tested directly. Every
score is in [0, 1]; the task aggregates them with a mean, so lm-eval reports a
standard error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

JSON_SCHEMA_KEYS = ("name", "city", "item", "quantity")
"""Keys, in order, of the JSON object the extraction task asks for."""

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The answer as a JSON object if the whole stripped text is one, else None."""
    try:
        value = json.loads(text.strip())
    except (json.JSONDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def find_json_object(text: str) -> dict[str, Any] | None:
    """Lenient parse: the first JSON object anywhere in ``text`` (code fences, prose around it)."""
    strict = parse_json_object(_FENCE.sub("", text.strip()))
    if strict is not None:
        return strict
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def field_matches(predicted: Any, expected: Any) -> bool:
    """Strings match ignoring case and surrounding space; numbers must be numbers and equal."""
    if isinstance(expected, bool) or isinstance(predicted, bool):
        return predicted is expected
    if isinstance(expected, (int, float)):
        return isinstance(predicted, (int, float)) and predicted == expected
    if isinstance(expected, str):
        return isinstance(predicted, str) and predicted.strip().casefold() == expected.casefold()
    return bool(predicted == expected)


def score_json_extract(output: str, expected: Mapping[str, Any]) -> dict[str, float]:
    """Scores of one generated answer for the JSON-extraction task.

    * ``json_valid``: the whole answer parses as a JSON object with exactly the
      schema keys (any order) -- what a strict consumer of the output needs.
    * ``field_accuracy``: fraction of schema fields equal to the reference, read
      leniently (the first JSON object anywhere in the answer); the headline metric.
    * ``exact_match``: the answer is valid and every field matches.
    """
    strict = parse_json_object(output)
    json_valid = strict is not None and set(strict) == set(expected)
    found = strict if strict is not None else find_json_object(output)
    matched = 0
    if found is not None:
        matched = sum(
            1
            for key, value in expected.items()
            if key in found and field_matches(found[key], value)
        )
    field_accuracy = matched / len(expected) if expected else 0.0
    exact = json_valid and matched == len(expected)
    return {
        "json_valid": float(json_valid),
        "field_accuracy": field_accuracy,
        "exact_match": float(exact),
    }


def score_date_iso(output: str, expected: str) -> dict[str, float]:
    """Scores of one generated answer for the ISO-date task.

    * ``exact_match``: the stripped answer is exactly the reference ``YYYY-MM-DD``.
    * ``part_accuracy``: fraction of year, month, day right in the first
      ``YYYY-MM-DD``-shaped string of the answer (0 if there is none); the headline.
    """
    answer = output.strip()
    want = [int(part) for part in expected.split("-")]
    found = _ISO_DATE.search(answer)
    got = [int(part) for part in found.groups()] if found else []
    parts_right = sum(1 for g, w in zip(got, want, strict=False) if g == w)
    return {
        "exact_match": float(answer == expected),
        "part_accuracy": parts_right / 3,
    }
