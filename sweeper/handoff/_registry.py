"""The winners in MLflow: each Pareto-optimal trial's adapter on its run, the recommended
configuration as a registered model version (the MLflow edge).

Run at the end of a sweep (adapters are a few MB each). Never fatal: what is missing can be
written by the next sweep of the study, and ``sweeper export`` writes the same from the cache.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from sweeper.handoff._recipe_file import ADAPTER_DIR
from sweeper.handoff._trial import adapter_folder, trial_recipe, write_export
from sweeper.recipe import WorkCache
from sweeper.report import ParetoAnalysis, analyze_study
from sweeper.study import LoadedStudy

log = logging.getLogger(__name__)

#: Trial-run tag set once its adapter and recipe.yaml are logged.
ADAPTER_LOGGED_TAG = "sweeper.adapter_logged"


def registered_model_name(study_name: str) -> str:
    return f"{study_name}-recommended"


@dataclass(frozen=True)
class RegisteredWinner:
    name: str
    version: str
    run_id: str
    trial: int


def log_winners(
    tracker: Any, parent_run_id: str, study: optuna.Study, loaded: LoadedStudy, cache: WorkCache
) -> RegisteredWinner | None:
    """Log the front's adapters and register the recommended one; None when nothing was
    registered."""
    try:
        from objectives import resolve_model_path

        analysis = analyze_study(study)
        model_path = resolve_model_path(loaded.spec.model.path)
        logged = log_front_adapters(tracker, study, loaded, cache, analysis, model_path)
        return register_recommended(tracker, parent_run_id, study, loaded, analysis, logged)
    except Exception as exc:
        log.warning("could not log the winning adapters to MLflow: %s", exc)
        return None


def log_front_adapters(
    tracker: Any,
    study: optuna.Study,
    loaded: LoadedStudy,
    cache: WorkCache,
    analysis: ParetoAnalysis,
    model_path: str,
) -> set[int]:
    """Trial numbers of the front whose run holds ``adapter/`` and ``recipe.yaml``."""
    client = tracker.client
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    done: set[int] = set()
    for record in analysis.front:
        run_id = record.mlflow_run_id
        if not run_id:
            continue
        if client.get_run(run_id).data.tags.get(ADAPTER_LOGGED_TAG) == "true":
            done.add(record.number)
            continue
        trial = trials[record.number]
        folder = adapter_folder(loaded, trial, cache, model_path)
        if folder is None:
            log.warning("trial %d: adapter not in the work cache %s", record.number, cache.root)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            write_export(trial_recipe(loaded, trial), folder, Path(tmp))
            client.log_artifacts(run_id, tmp)
        tracker.log(run_id, tags={ADAPTER_LOGGED_TAG: "true"})
        done.add(record.number)
    return done


def register_recommended(
    tracker: Any,
    parent_run_id: str,
    study: optuna.Study,
    loaded: LoadedStudy,
    analysis: ParetoAnalysis,
    logged: set[int],
) -> RegisteredWinner | None:
    """A new version of ``<study>-recommended`` when the recommendation changed."""
    rec = analysis.recommended
    if rec is None or rec.record.number not in logged or not rec.record.mlflow_run_id:
        return None
    client = tracker.client
    name = registered_model_name(loaded.name)
    run_id = rec.record.mlflow_run_id
    if client.search_registered_models(filter_string=f"name = '{name}'"):
        latest = client.search_model_versions(
            f"name = '{name}'", max_results=1, order_by=["version_number DESC"]
        )
        if latest and latest[0].run_id == run_id:
            v = latest[0]
            return RegisteredWinner(name, v.version, run_id, rec.record.number)
    else:
        client.create_registered_model(
            name,
            tags={"sweeper.study_name": loaded.name},
            description=f"The configuration `sweeper report` recommends for study {loaded.name}.",
        )
    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == rec.record.number)
    recipe = trial_recipe(loaded, trial)
    merge = "none" if recipe.merge is None else f"{recipe.merge.method} w={recipe.merge.weight:g}"
    tags = {
        "sweeper.study_name": loaded.name,
        "sweeper.trial_number": str(rec.record.number),
        "sweeper.parent_run_id": parent_run_id,
        "merge": merge,
        "quantization": recipe.quantization,
        "serving_instance": recipe.serving_instance or "-",
        "recommendation": rec.title,
    }
    tags |= {k: f"{v:g}" for k, v in recipe.metrics.items()}
    artifact_uri = client.get_run(run_id).info.artifact_uri
    version = client.create_model_version(
        name,
        source=f"{artifact_uri}/{ADAPTER_DIR}",
        run_id=run_id,
        tags=tags,
        description=f"Trial {rec.record.number}: {rec.why}",
    )
    return RegisteredWinner(name, version.version, run_id, rec.record.number)
