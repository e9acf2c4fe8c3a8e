"""``nsga2``: Optuna's NSGA-II, a genetic algorithm for several objectives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna
from pydantic import Field

from sweeper.samplers._registry import SAMPLERS, SamplerKind, SamplerOptions
from sweeper.samplers._study_constraints import study_constraints

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy

__all__ = ["Nsga2Options"]


class Nsga2Options(SamplerOptions):
    """Keyword arguments of ``optuna.samplers.NSGAIISampler`` a study file may set."""

    population_size: int = Field(50, ge=2, description="Trials per generation.")
    mutation_prob: float | None = Field(
        None, ge=0, le=1, description="Per-parameter mutation probability (null: 1 / parameters)."
    )
    crossover_prob: float = Field(0.9, ge=0, le=1, description="Probability of a crossover.")
    swapping_prob: float = Field(
        0.5, ge=0, le=1, description="Per-parameter swap probability in a uniform crossover."
    )


def build(loaded: LoadedStudy, seed: int, options: Nsga2Options) -> optuna.samplers.NSGAIISampler:
    return optuna.samplers.NSGAIISampler(
        seed=seed, constraints_func=study_constraints(loaded), **options.model_dump()
    )


SAMPLERS.add(
    "nsga2",
    SamplerKind(summary="Optuna's NSGA-II (genetic)", options=Nsga2Options, build=build),
    order=2,
)
