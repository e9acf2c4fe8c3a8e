"""The study's sampler, built by the registered sampler its study file names."""

from __future__ import annotations

from typing import TYPE_CHECKING

import optuna

from sweeper.samplers._registry import SAMPLERS

if TYPE_CHECKING:
    from sweeper.study import LoadedStudy


def make_sampler(loaded: LoadedStudy, seed: int) -> optuna.samplers.BaseSampler:
    """The study's sampler (``sampler.name`` with ``sampler.kwargs``), seeded, with the study's
    constraints when it declares any. The study file was validated when loaded, so the name is
    registered and the keyword arguments fit it."""
    section = loaded.spec.sampler
    kind = SAMPLERS.get(section.name)
    return kind.build(loaded, seed, kind.options.model_validate(section.kwargs))
