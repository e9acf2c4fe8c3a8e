"""A trial's post-training recipe: LoRA -> optional merge -> quantize -> evaluate.

* ``_cache`` -- trial work (adapters, evaluations) cached by a hash of its inputs.
* ``_pipeline`` -- the steps, run or reused.
* ``_constraints`` -- the study's feasibility rules as Optuna constraint values.
* ``_objective`` -- one Optuna trial: sample, reject if it cannot fit, run, price, log.
"""

from sweeper.recipe._cache import CacheResult, WorkCache, cache_key, default_cache_dir
from sweeper.recipe._constraints import (
    ATTR_CONSTRAINTS,
    constraint_values,
    constraints_func,
    feasible,
)
from sweeper.recipe._objective import (
    ATTR_CACHE,
    ATTR_FAIL_REASON,
    ATTR_MACHINE,
    ATTR_METRICS,
    ATTR_MLFLOW_RUN,
    ATTR_PROJECTION,
    STUDY_ATTR_BASELINE,
    RecipeObjective,
    score_metrics,
)
from sweeper.recipe._pipeline import (
    LoraJob,
    MergeStep,
    ModelLoad,
    Recipe,
    RecipeResult,
    recipe_keys,
    run_recipe,
)

__all__ = [
    "ATTR_CACHE",
    "ATTR_CONSTRAINTS",
    "ATTR_FAIL_REASON",
    "ATTR_MACHINE",
    "ATTR_METRICS",
    "ATTR_MLFLOW_RUN",
    "ATTR_PROJECTION",
    "STUDY_ATTR_BASELINE",
    "CacheResult",
    "LoraJob",
    "MergeStep",
    "ModelLoad",
    "Recipe",
    "RecipeObjective",
    "RecipeResult",
    "WorkCache",
    "cache_key",
    "constraint_values",
    "constraints_func",
    "default_cache_dir",
    "feasible",
    "recipe_keys",
    "run_recipe",
    "score_metrics",
]
