"""``tpe`` (the default): Optuna's TPE, multivariate with ``group=True``.

The recipe space is conditional (merge parameters exist only when merging), and grouping models
each branch on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna
from pydantic import Field, model_validator

from sweeper.samplers._registry import SAMPLERS, SamplerKind, SamplerOptions
from sweeper.samplers._study_constraints import study_constraints

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy

__all__ = ["TpeOptions"]


class TpeOptions(SamplerOptions):
    """Keyword arguments of ``optuna.samplers.TPESampler`` a study file may set. ``null`` (the
    default where shown) leaves Optuna's own default."""

    n_ei_candidates: int = Field(
        24, ge=1, description="Candidates scored by expected improvement per suggestion."
    )
    multivariate: bool = Field(
        True, description="Model the parameters jointly (the sweeper's default; Optuna's: false)."
    )
    group: bool = Field(
        True,
        description="With multivariate: model each branch of a conditional space on its own "
        "(the sweeper's default; Optuna's: false).",
    )
    constant_liar: bool = Field(
        True, description="Treat running trials as bad, so parallel workers spread out."
    )
    prior_weight: float | None = Field(None, gt=0, description="Weight of the prior (Optuna: 1).")
    consider_endpoints: bool | None = Field(
        None, description="Clip each kernel's width at the range's ends (Optuna: false)."
    )
    consider_magic_clip: bool | None = Field(
        None, description="Clip kernel widths from below (Optuna: true)."
    )

    @model_validator(mode="after")
    def _group_needs_multivariate(self) -> TpeOptions:
        if self.group and not self.multivariate:
            raise ValueError(
                "`group: true` needs `multivariate: true`, but got multivariate=False "
                "(set `group: false` too)"
            )
        return self


def build(loaded: LoadedStudy, seed: int, options: TpeOptions) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=loaded.spec.sampler.n_startup_trials,
        constraints_func=study_constraints(loaded),
        **options.model_dump(),
    )


SAMPLERS.add(
    "tpe",
    SamplerKind(
        summary="Optuna's TPE, multivariate and grouped (handles the conditional space)",
        options=TpeOptions,
        build=build,
    ),
    order=0,
)
