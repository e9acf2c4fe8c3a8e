"""``contains``: the target text occurs somewhere in the answer (case-sensitive)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from objectives.eval_tasks.scorers._base import GenerationScorer, target_text
from objectives.eval_tasks.scorers._registry import register_scorer


@register_scorer(order=20)
@dataclass(frozen=True)
class Contains(GenerationScorer):
    name = "contains"
    description = "the stripped target occurs in the answer (case-sensitive)"
    metrics = ("contains",)

    def score(self, answer: str, target: Any) -> dict[str, float]:
        return {"contains": float(target_text(target).strip() in answer)}
