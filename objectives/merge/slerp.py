"""``slerp``: spherical interpolation between exactly two models (t=0: the first, 1: the second)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from objectives.merge._base import MergeMethod
from objectives.merge._registry import MERGERS

if TYPE_CHECKING:
    from objectives.merge._config import MergeConfig

DEFAULT_T = 0.5


class Slerp(MergeMethod):
    name = "slerp"
    description = "spherical interpolation between exactly two models; t=0 the first, 1 the second"
    weighted = False
    exact_models = 2
    interpolates = True

    def mergekit_base_model(self, config: MergeConfig) -> str | None:
        return config.models[0].reference()  # mergekit's slerp interpolates from its base

    def mergekit_parameters(self, config: MergeConfig) -> dict[str, Any]:
        return {"t": float(config.t if config.t is not None else DEFAULT_T)}

    def t_for_share(self, share: float) -> float | None:
        return 1.0 - share


MERGERS.add(Slerp.name, Slerp(), order=1)
