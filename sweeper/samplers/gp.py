"""``gp``: Optuna's Gaussian-process sampler (seconds per trial on a large study)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna
from pydantic import Field

from sweeper.samplers._registry import SAMPLERS, SamplerKind, SamplerOptions
from sweeper.samplers._study_constraints import study_constraints

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy

__all__ = ["GpOptions"]


class GpOptions(SamplerOptions):
    """Keyword arguments of ``optuna.samplers.GPSampler`` a study file may set."""

    deterministic_objective: bool = Field(
        False, description="The objectives have no noise (re-running a trial gives the same)."
    )
    warn_independent_sampling: bool = Field(
        True, description="Warn when a parameter outside the joint space is sampled at random."
    )


def build(loaded: LoadedStudy, seed: int, options: GpOptions) -> optuna.samplers.GPSampler:
    return optuna.samplers.GPSampler(
        seed=seed,
        n_startup_trials=loaded.spec.sampler.n_startup_trials,
        constraints_func=study_constraints(loaded),
        **options.model_dump(),
    )


SAMPLERS.add(
    "gp",
    SamplerKind(summary="Optuna's Gaussian-process sampler", options=GpOptions, build=build),
    order=3,
)
