"""``linear``: the weighted average of the weights (weights normalized to sum 1)."""

from __future__ import annotations

from objectives.merge._base import MergeMethod
from objectives.merge._registry import MERGERS


class Linear(MergeMethod):
    name = "linear"
    description = "weighted average of the weights (weights normalized to sum 1)"


MERGERS.add(Linear.name, Linear(), order=0)
