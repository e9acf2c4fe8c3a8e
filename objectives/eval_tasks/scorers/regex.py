"""``regex``: what ``pattern`` extracts from the answer equals the target.

The first match of ``pattern`` anywhere in the answer is taken: its first capture group when the
pattern has one, else the whole match; no match scores 0. ``pattern: '(\\d+)'`` reads the first
number, ``pattern: 'Answer: (.*)'`` the text after a marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from objectives.eval_tasks.scorers._base import GenerationScorer, target_text
from objectives.eval_tasks.scorers._registry import register_scorer


@register_scorer(order=30)
@dataclass(frozen=True)
class Regex(GenerationScorer):
    pattern: str
    name = "regex"
    description = "the first match of `pattern` in the answer (its first group) equals the target"
    metrics = ("regex_match",)
    options = MappingProxyType({"pattern": "a Python regular expression"})

    def __post_init__(self) -> None:
        try:  # a bad pattern fails here, when the study file is loaded
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None

    def score(self, answer: str, target: Any) -> dict[str, float]:
        found = re.search(self.pattern, answer)
        if found is None:
            return {"regex_match": 0.0}
        extracted = found.group(1) if found.re.groups else found.group(0)
        return {"regex_match": float(extracted.strip() == target_text(target).strip())}
