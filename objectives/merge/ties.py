"""``ties``: task vectors trimmed to the ``density`` fraction of largest magnitudes, sign
consensus, weighted sum (normalized)."""

from __future__ import annotations

from objectives.merge._base import MergeMethod
from objectives.merge._registry import MERGERS


class Ties(MergeMethod):
    name = "ties"
    description = (
        "task vectors (model - base_model) trimmed to the density fraction of largest "
        "magnitudes, sign consensus, weighted sum (normalized)"
    )
    task_vectors = True


MERGERS.add(Ties.name, Ties(), order=2)
