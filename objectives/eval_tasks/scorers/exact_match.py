"""``exact_match``: the answer, stripped of surrounding whitespace, equals the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from objectives.eval_tasks.scorers._base import GenerationScorer, target_text
from objectives.eval_tasks.scorers._registry import register_scorer


@register_scorer(order=10)
@dataclass(frozen=True)
class ExactMatch(GenerationScorer):
    name = "exact_match"
    description = "the stripped answer equals the stripped target"
    metrics = ("exact_match",)

    def score(self, answer: str, target: Any) -> dict[str, float]:
        return {"exact_match": float(answer.strip() == target_text(target).strip())}
