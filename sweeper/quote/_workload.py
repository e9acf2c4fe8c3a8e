"""What a trial of a study has to do: tokens to train, steps, evaluation items, merge partners.

Pure functions of the loaded study (and of a trial's parameters): the time model prices these
quantities, the calibration divides measured seconds by them.
"""

from __future__ import annotations

from typing import Any

from objectives import task_workload
from sweeper.recipe import partner_settings
from sweeper.search import LoraSettings, RecipeSettings, fixed_values, recipe_settings
from sweeper.study import LoadedStudy


def train_tokens(loaded: LoadedStudy, settings: LoraSettings) -> float:
    t = loaded.spec.training
    return float(settings.epochs * t.steps_per_epoch * t.batch_size * t.seq_len)


def max_steps(loaded: LoadedStudy, settings: LoraSettings) -> int:
    return settings.epochs * loaded.spec.training.steps_per_epoch


def trial_recipe(loaded: LoadedStudy, params: dict[str, Any]) -> RecipeSettings:
    return recipe_settings({**fixed_values(loaded.spec.search_space), **params})


def study_partners(loaded: LoadedStudy) -> list[tuple[str, LoraSettings]]:
    """The merge partners the study trains itself (a partner given as a folder costs nothing)."""
    if loaded.spec.merge is None:
        return []
    return [(p.name, partner_settings(p)) for p in loaded.spec.merge.partners if p.train]


def eval_items(loaded: LoadedStudy) -> float:
    limit = loaded.spec.eval.limit
    return float(sum(task_workload(t, limit=limit).n_items for t in loaded.eval_tasks.values()))


def pruning_task(loaded: LoadedStudy) -> Any:
    spec = loaded.spec
    if spec.pruning is None:
        return None
    metric = spec.pruning.metric or next(
        o.name for o in spec.objectives if o.name in spec.eval.tasks
    )
    return loaded.eval_tasks[metric]


def intermediate_items(loaded: LoadedStudy) -> float:
    task = pruning_task(loaded)
    if task is None:
        return 0.0
    return float(task_workload(task.with_limit(loaded.spec.pruning.limit)).n_items)
