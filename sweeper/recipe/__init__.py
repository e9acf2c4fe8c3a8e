"""A trial's post-training recipe: LoRA -> optional merge -> quantize -> evaluate.

* ``_cache`` -- trial work (adapters, evaluations) cached by a hash of its inputs.
* ``_pipeline`` -- the steps, run or reused.
* ``_constraints`` -- the study's feasibility rules as Optuna constraint values.
* ``_objective`` -- one Optuna trial: sample, reject if it cannot fit, run, price, log.
"""

from sweeper.recipe._cache import CacheResult, WorkCache, cache_key, default_cache_dir
from sweeper.recipe._constraints import constraint_values, constraints_func, feasible
from sweeper.recipe._objective import RecipeObjective, partner_settings, score_metrics
from sweeper.recipe._pipeline import (
    LoraJob,
    MergeStep,
    ModelLoad,
    Recipe,
    RecipeResult,
    StepRecord,
    recipe_keys,
    run_recipe,
)

__all__ = [
    "CacheResult",
    "LoraJob",
    "MergeStep",
    "ModelLoad",
    "Recipe",
    "RecipeObjective",
    "RecipeResult",
    "StepRecord",
    "WorkCache",
    "cache_key",
    "constraint_values",
    "constraints_func",
    "default_cache_dir",
    "feasible",
    "partner_settings",
    "recipe_keys",
    "run_recipe",
    "score_metrics",
]
