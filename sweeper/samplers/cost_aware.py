"""``cost_aware``: ``CostAwareSampler`` pricing each candidate with ``recipe_trial_cost_eur``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from sweeper.samplers._cost_aware import CostAwareSampler
from sweeper.samplers._recipe_cost import recipe_trial_cost_eur
from sweeper.samplers._registry import SAMPLERS, SamplerKind, SamplerOptions
from sweeper.samplers._study_constraints import study_constraints

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy

__all__ = ["CostAwareOptions", "recipe_trial_cost_eur"]


class CostAwareOptions(SamplerOptions):
    """Keyword arguments of ``CostAwareSampler`` a study file may set."""

    n_candidates: int = Field(16, ge=1, description="Configurations scored per trial.")
    exploration: float = Field(
        1.0,
        ge=0,
        description="Standard deviations subtracted from the predicted (normalised) objectives: "
        "0 trusts the kernel regression, larger explores more.",
    )
    bandwidth: float = Field(
        0.25, gt=0, description="Kernel width in normalised parameter distance (0..1)."
    )


def build(loaded: LoadedStudy, seed: int, options: CostAwareOptions) -> CostAwareSampler:
    return CostAwareSampler(
        recipe_trial_cost_eur(loaded),
        n_startup_trials=loaded.spec.sampler.n_startup_trials,
        seed=seed,
        constraints_func=study_constraints(loaded),
        **options.model_dump(),
    )


SAMPLERS.add(
    "cost_aware",
    SamplerKind(
        summary="TPE and random candidates; the one with most expected hypervolume gain per "
        "predicted euro runs",
        options=CostAwareOptions,
        build=build,
    ),
    order=5,
)
