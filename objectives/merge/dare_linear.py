"""``dare_linear``: task vectors randomly dropped to ``density`` and rescaled, summed."""

from __future__ import annotations

from objectives.merge._base import MergeMethod
from objectives.merge._registry import MERGERS


class DareLinear(MergeMethod):
    name = "dare_linear"
    description = (
        "task vectors randomly dropped to density and rescaled, combined without sign "
        "consensus (seeded by seed)"
    )
    task_vectors = True


MERGERS.add(DareLinear.name, DareLinear(), order=4)
