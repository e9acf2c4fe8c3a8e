"""``random``: uniform random search that still records constraint values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweeper.samplers._registry import SAMPLERS, SamplerKind, SamplerOptions
from sweeper.samplers._study_constraints import study_constraints
from sweeper.upstream import record_constraints

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy

__all__ = ["ConstrainedRandomSampler", "RandomOptions"]


class RandomOptions(SamplerOptions):
    """``random`` takes no keyword arguments."""


class ConstrainedRandomSampler(optuna.samplers.RandomSampler):
    """Random search that still records constraint values, so ``best_trials`` skips infeasible
    ones (Optuna's ``RandomSampler`` takes no ``constraints_func``)."""

    def __init__(
        self,
        seed: int | None,
        constraints: Callable[[FrozenTrial], Sequence[float]] | None,
    ) -> None:
        super().__init__(seed=seed)
        self._constraints = constraints

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        if self._constraints is not None:
            record_constraints(self._constraints, study, trial, state)
        super().after_trial(study, trial, state, values)


def build(loaded: LoadedStudy, seed: int, options: RandomOptions) -> Any:
    return ConstrainedRandomSampler(seed, study_constraints(loaded))


SAMPLERS.add(
    "random",
    SamplerKind(summary="uniform random search", options=RandomOptions, build=build),
    order=1,
)
