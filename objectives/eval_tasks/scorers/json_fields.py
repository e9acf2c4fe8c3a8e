"""``json_fields``: the share of the target JSON object's keys whose values the answer matches.

The answer must be one JSON object (a Markdown code fence around it is allowed); anything else
scores 0 on every metric. Values compare as in the bundled extraction task
(``objectives.scoring.field_matches``): strings ignoring case and surrounding space, numbers by
value and type. The target is a JSON object in the file, or a string holding one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from objectives.eval_tasks.scorers._base import GenerationScorer
from objectives.eval_tasks.scorers._registry import register_scorer
from objectives.scoring import field_matches, parse_json_object

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def target_object(target: Any) -> dict[str, Any] | None:
    """The target as a non-empty JSON object (a dict, or a string holding one), else None."""
    if isinstance(target, str):
        target = parse_json_object(target)
    return target if isinstance(target, dict) and target else None


@register_scorer(order=40)
@dataclass(frozen=True)
class JsonFields(GenerationScorer):
    name = "json_fields"
    description = "share of the target object's keys whose values the answer's JSON matches"
    metrics = ("field_accuracy", "json_valid", "exact_match")

    def target_problem(self, target: Any) -> str | None:
        if target_object(target) is None:
            return "a non-empty JSON object (or a string holding one)"
        return None

    def score(self, answer: str, target: Any) -> dict[str, float]:
        expected = target_object(target) or {}
        found = parse_json_object(_FENCE.sub("", answer.strip()))
        if found is None or not expected:
            return {"field_accuracy": 0.0, "json_valid": 0.0, "exact_match": 0.0}
        matched = sum(1 for k, v in expected.items() if k in found and field_matches(found[k], v))
        return {
            "field_accuracy": matched / len(expected),
            "json_valid": 1.0,
            "exact_match": float(matched == len(expected) and set(found) == set(expected)),
        }


def target_json(target: Any) -> str:
    """The target as the compact JSON text a few-shot example shows."""
    obj = target_object(target)
    return json.dumps(obj if obj is not None else target, ensure_ascii=False)
