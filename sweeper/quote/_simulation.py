"""Monte Carlo over simulated studies of ``n_trials`` trials, replaying the work cache and pruning.

A trial is a recipe whose work is cached: a LoRA configuration is trained once per study, each
merge partner once, and an identical recipe is not evaluated twice; a pruned trial stops early.
The simulation draws trials from the sampled configurations and adds up the parts each pays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sweeper.quote._done import DoneWork
from sweeper.quote._pruning import PruningModel
from sweeper.quote._work_identity import LORA_DIMENSIONS, lora_id, recipe_id
from sweeper.search import RecipeSettings

#: Simulated studies for the Monte Carlo study total (fewer for very long studies: the cost of a
#: quote is studies x trials).
SIMULATED_STUDIES = 2000
MAX_SIMULATED_TRIALS = 400_000


class TrialParts(NamedTuple):
    """Seconds of the parts of one sampled configuration's trial (before the per-trial overhead)."""

    #: Its LoRA training and the intermediate evaluations of pruning along it.
    train_s: float
    #: What it pays when pruned (its share of training and checks); ``None``: never pruned.
    pruned_s: float | None
    #: Training the merge partners not trained yet (0: it does not merge).
    partner_s: float
    #: Merge, quantization and evaluation.
    finish_s: float


@dataclass(frozen=True)
class SimulatedStudies:
    """Per simulated study (rows) and trial (columns): what the simulation counted."""

    #: Seconds of each trial, shape (studies, trials).
    trial_seconds: np.ndarray
    #: Per study: LoRA trainings, partner trainings, recipe cache hits, pruned trials.
    lora_trainings: np.ndarray
    partner_trainings: np.ndarray
    cache_hits: np.ndarray
    pruned: np.ndarray


def simulate(
    n_trials: int,
    configs: list[RecipeSettings],
    parts: list[TrialParts],
    done: DoneWork,
    pruning: PruningModel | None,
    overhead_s: float,
    spread: np.ndarray,
    rng: np.random.Generator,
    *,
    grid: bool,
    continuous: set[str] = frozenset(),
) -> SimulatedStudies:
    """Simulated studies of ``n_trials`` trials drawn from ``configs``, replaying the work cache.

    In each: a LoRA configuration is trained the first time it is drawn (free if the storage
    already trained it); the partner LoRAs once, by the first merging trial that gets that far
    (free if already trained); a recipe already evaluated costs only the overhead; a trial that
    trains may be pruned (probability ``pruned_share`` once ``n_startup_trials`` trials reported)
    -- it pays its share of training and intermediate evaluations, caches nothing, and is not
    evaluated.
    A grid sampler draws each configuration once before any repeats; other samplers at random.
    """
    n = max(n_trials, 1)
    n_sims = max(200, min(SIMULATED_STUDIES, MAX_SIMULATED_TRIALS // n))
    lora_ids: dict[tuple, int] = {}
    recipe_ids: dict[tuple, int] = {}
    lora = [lora_ids.setdefault(lora_id(r.lora), len(lora_ids)) for r in configs]
    recipe = [recipe_ids.setdefault(recipe_id(r), len(recipe_ids)) for r in configs]
    trained0 = {lora_ids[k] for k in done.loras if k in lora_ids}
    seen0 = {recipe_ids[k] for k in done.recipes if k in recipe_ids}
    merges = [r.merges for r in configs]
    fresh_lora = bool(continuous & set(LORA_DIMENSIONS))
    fresh_recipe = [
        fresh_lora
        or (r.merge_weight is not None and "merge_weight" in continuous)
        or (r.merge_density is not None and "merge_density" in continuous)
        for r in configs
    ]
    if grid:  # one draw per grid cell (distinct parameters) before any repeat
        cells: dict[tuple, int] = {}
        for i, r in enumerate(configs):
            cells.setdefault(
                tuple(sorted(r.as_params().items())) + (r.target_instance, r.target_pricing), i
            )
        firsts = np.array(list(cells.values()))
        draws = rng.integers(0, len(configs), size=(n_sims, n))
        k = min(n, len(firsts))
        for s in range(n_sims):
            draws[s, :k] = rng.permutation(firsts)[:k]
    else:
        draws = rng.integers(0, len(configs), size=(n_sims, n))
    ratios = rng.choice(spread, size=(n_sims, n))
    uniform = rng.random((n_sims, n))
    p = pruning.pruned_share if pruning is not None else 0.0
    n_startup = pruning.n_startup_trials if pruning is not None else 0
    seconds = np.zeros((n_sims, n))
    lora_trainings = np.zeros(n_sims)
    partner_trainings = np.zeros(n_sims)
    cache_hits = np.zeros(n_sims)
    pruned = np.zeros(n_sims)
    for s in range(n_sims):
        trained, seen = set(trained0), set(seen0)
        partners_done = False
        reporters = done.reporters
        for k in range(n):
            i = draws[s, k]
            train_s, pruned_s, partner_s, finish_s = parts[i]
            sec = overhead_s
            if not fresh_recipe[i] and recipe[i] in seen:
                cache_hits[s] += 1
            else:
                if fresh_lora or lora[i] not in trained:
                    if pruned_s is not None and reporters >= n_startup and uniform[s, k] < p:
                        seconds[s, k] = (sec + pruned_s) * ratios[s, k]
                        pruned[s] += 1
                        continue
                    sec += train_s
                    trained.add(lora[i])
                    lora_trainings[s] += 1
                    reporters += pruning is not None
                if merges[i] and not partners_done:
                    partners_done = True
                    if partner_s > 0:
                        sec += partner_s
                        partner_trainings[s] += 1
                sec += finish_s
                seen.add(recipe[i])
            seconds[s, k] = sec * ratios[s, k]
    if n_trials == 0:
        seconds = seconds[:, :0]
    return SimulatedStudies(
        trial_seconds=seconds,
        lora_trainings=lora_trainings,
        partner_trainings=partner_trainings,
        cache_hits=cache_hits,
        pruned=pruned,
    )
