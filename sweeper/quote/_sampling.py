"""The configurations a quote prices: a seeded random sample of the study's search space."""

from __future__ import annotations

import optuna

from sweeper.search import RecipeSettings, recipe_settings, suggest
from sweeper.study import LoadedStudy

#: Sampled configurations by (study file hash, samples, seed): a seeded random sample of a search
#: space is the same every time, and the budget guard re-quotes during a sweep.
_CONFIGS: dict[tuple[str, int, int], list[RecipeSettings]] = {}


def sampled_configs(loaded: LoadedStudy, samples: int, seed: int) -> list[RecipeSettings]:
    key = (loaded.sha256, samples, seed)
    if key not in _CONFIGS:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler_study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        space = loaded.spec.search_space
        _CONFIGS[key] = [
            recipe_settings(suggest(sampler_study.ask(), space)) for _ in range(samples)
        ]
        while len(_CONFIGS) > 16:
            _CONFIGS.pop(next(iter(_CONFIGS)))
    return _CONFIGS[key]
