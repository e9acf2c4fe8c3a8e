"""The study's constraints as the ``constraints_func`` an Optuna sampler takes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from optuna.trial import FrozenTrial

from sweeper.recipe import constraints_func

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy


def study_constraints(
    loaded: LoadedStudy,
) -> Callable[[FrozenTrial], Sequence[float]] | None:
    """The study's ``constraints`` as a ``constraints_func`` (None when it declares none, so that
    a sampler records nothing and behaves as unconstrained)."""
    n = len(loaded.spec.constraints)
    return constraints_func(n) if n else None
