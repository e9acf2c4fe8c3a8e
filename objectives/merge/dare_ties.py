"""``dare_ties``: task vectors randomly dropped to ``density`` and rescaled, sign consensus."""

from __future__ import annotations

from objectives.merge._base import MergeMethod
from objectives.merge._registry import MERGERS


class DareTies(MergeMethod):
    name = "dare_ties"
    description = (
        "task vectors randomly dropped to density and rescaled, combined with sign consensus "
        "(seeded by seed)"
    )
    task_vectors = True


MERGERS.add(DareTies.name, DareTies(), order=3)
