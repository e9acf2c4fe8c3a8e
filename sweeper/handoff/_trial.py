"""From a study trial to its rebuild recipe and its adapter in the work cache (storage edge)."""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna

from sweeper.costing import PricingContext
from sweeper.errors import SweeperError
from sweeper.handoff._recipe_file import (
    ADAPTER_DIR,
    RECIPE_FILE,
    MergeRebuild,
    RebuildRecipe,
    recipe_yaml,
)
from sweeper.recipe import RecipeObjective, WorkCache, recipe_keys
from sweeper.search import fixed_values, recipe_settings
from sweeper.study import LoadedStudy
from sweeper.trial_record import ATTR_METRICS, ATTR_PROJECTION


class ExportError(SweeperError):
    """A trial that cannot be exported: unknown, or its adapter is not in this work cache."""


def trial_recipe(loaded: LoadedStudy, trial: optuna.trial.FrozenTrial) -> RebuildRecipe:
    spec = loaded.spec
    settings = recipe_settings(fixed_values(spec.search_space) | trial.params)
    merge = None
    if settings.merges and spec.merge is not None:
        merge = MergeRebuild(
            method=settings.merge_method,
            weight=float(settings.merge_weight or 0.5),
            density=settings.merge_density,
            dtype=spec.merge.dtype,
            seed=spec.seed,
            partners=tuple(
                {"name": p.name, "train": p.train} if p.train else {"name": p.name, "path": p.path}
                for p in spec.merge.partners
            ),
        )
    serving = (trial.user_attrs.get(ATTR_PROJECTION) or {}).get("serving") or {}
    metrics = trial.user_attrs.get(ATTR_METRICS) or {}
    return RebuildRecipe(
        study=loaded.name,
        trial=trial.number,
        base_model=spec.model.path,
        lora=settings.lora.as_params() | {"target_modules_list": settings.lora.target_modules},
        merge=merge,
        quantization=settings.quantization,
        serving_instance=serving.get("serving_instance") or settings.target_instance,
        metrics={n: float(metrics[n]) for n in loaded.objective_names if n in metrics},
    )


def adapter_folder(
    loaded: LoadedStudy, trial: optuna.trial.FrozenTrial, cache: WorkCache, model_path: str
) -> Path | None:
    """The trial's trained adapter in ``cache`` (found by its cache key), or None."""
    settings = recipe_settings(fixed_values(loaded.spec.search_space) | trial.params)
    objective = RecipeObjective(loaded, PricingContext.load(), None, None, model_path, cache)
    key = recipe_keys(objective.recipe(settings))["lora"]
    found = cache.lookup("lora", key)
    return None if found is None else found.path


def find_trial(study: optuna.Study, number: int, study_file: Path) -> optuna.trial.FrozenTrial:
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        known = f"0..{max(trials)}" if trials else "none yet"
        raise ExportError(
            f"{study_file}: --trial {number}: study '{study.study_name}' has no such trial "
            f"(trials: {known}); `sweeper show {study_file}` lists them"
        )
    return trials[number]


def write_export(recipe: RebuildRecipe, adapter: Path, out_dir: Path) -> Path:
    """``out_dir/adapter/`` (the peft folder) and ``out_dir/recipe.yaml``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ADAPTER_DIR
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(adapter, target, ignore=shutil.ignore_patterns("meta.json"))
    (out_dir / RECIPE_FILE).write_text(recipe_yaml(recipe))
    return out_dir


def missing_adapter_error(study_file: Path, number: int, cache: WorkCache) -> ExportError:
    return ExportError(
        f"{study_file}: --trial {number}: its LoRA adapter is not in the work cache {cache.root} "
        "(trained on another machine, or the cache was cleared); run the sweep's cache there, "
        "set SWEEPER_WORK_CACHE to it, or download the adapter logged to the trial's MLflow run "
        "(`mlflow artifacts download --run-id RUN --artifact-path adapter`)"
    )
