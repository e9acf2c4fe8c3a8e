"""``grid``: every combination of the search space's ``choices`` once (choices-only spaces;
the study schema refuses a range or a conditional dimension with this sampler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna

from sweeper.samplers._registry import SAMPLERS, SamplerKind, SamplerOptions
from sweeper.search import distributions

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy

__all__ = ["GridOptions"]


class GridOptions(SamplerOptions):
    """``grid`` takes no keyword arguments."""


def build(loaded: LoadedStudy, seed: int, options: GridOptions) -> optuna.samplers.GridSampler:
    grid = {
        name: list(dist.choices) for name, dist in distributions(loaded.spec.search_space).items()
    }
    return optuna.samplers.GridSampler(grid, seed=seed)


SAMPLERS.add(
    "grid",
    SamplerKind(
        summary="every combination of `choices` once (choices-only spaces)",
        options=GridOptions,
        build=build,
        exhaustive_grid=True,
    ),
    order=4,
)
