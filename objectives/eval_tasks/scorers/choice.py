"""``choice``: multiple choice by log-likelihood over a row's ``choices`` list.

The model is not asked to generate: lm-eval scores each choice as a continuation of the prompt
and the most likely one is the answer (``acc``); ``acc_norm`` divides each log-likelihood by the
choice's length in characters first, which removes the bias towards short choices. The target is
the index of the right choice or its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from objectives.eval_tasks.scorers._base import Scorer
from objectives.eval_tasks.scorers._registry import register_scorer


@register_scorer(order=50)
@dataclass(frozen=True)
class Choice(Scorer):
    name = "choice"
    description = "log-likelihood multiple choice over the row's `choices` list"
    output_type = "multiple_choice"
    metrics = ("acc", "acc_norm")

    def target_problem(self, target: Any) -> str | None:
        if isinstance(target, bool) or not isinstance(target, (int, str)):
            return "the index of the right choice, or its text"
        return None

    def score(self, answer: Sequence[float], target: Any) -> dict[str, float]:
        """``answer``: the log-likelihood of each choice; ``target``: a ``ChoiceTarget``."""
        lengths = [max(len(c), 1) for c in target.choices]
        best = max(range(len(answer)), key=lambda i: answer[i])
        best_norm = max(range(len(answer)), key=lambda i: answer[i] / lengths[i])
        return {"acc": float(best == target.gold), "acc_norm": float(best_norm == target.gold)}


@dataclass(frozen=True)
class ChoiceTarget:
    """A multiple-choice item's answer key: its choices and the index of the right one."""

    choices: tuple[str, ...]
    gold: int
