"""No MLflow run is left RUNNING: an exception anywhere in a trial ends its run as failed, a NaN
objective is FAIL in Optuna and in MLflow, and the parent run is closed when the sweep fails,
the base-model evaluation included. Real sweeps on the tiny model, a real SQLite MLflow store;
the failures are injected where nothing real fails on demand."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

import objectives
from sweeper.recipe import RecipeObjective
from sweeper.recipe import _objective as objective_module
from sweeper.runner import run_sweep
from sweeper.study import load_study


def urls(tmp_path: Path) -> tuple[str, str]:
    return f"sqlite:///{tmp_path / 'sweeper.db'}", f"sqlite:///{tmp_path / 'mlflow.db'}"


def runs(tracking: str, role: str) -> list:
    client = MlflowClient(tracking)
    experiment = client.get_experiment_by_name("tiny")
    return client.search_runs([experiment.experiment_id], f"tags.`sweeper.role` = '{role}'")


def sweep(tiny_study: Path, tmp_path: Path, baseline: bool = False) -> optuna.Study:
    storage, tracking = urls(tmp_path)
    run_sweep(
        load_study(tiny_study),
        n_trials=1,
        storage_url=storage,
        tracking_uri=tracking,
        artifact_root=tmp_path / "artifacts",
        baseline=baseline,
    )
    return optuna.load_study(study_name="tiny", storage=storage)


def test_an_exception_outside_the_recipe_ends_the_trials_run_as_failed(
    tiny_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_recipe(self, settings):  # noqa: ANN001, ANN202
        raise RuntimeError("boom after the run started")

    monkeypatch.setattr(RecipeObjective, "recipe", broken_recipe)
    study = sweep(tiny_study, tmp_path)

    (trial,) = study.trials
    assert trial.state.name == "FAIL"
    (run,) = runs(urls(tmp_path)[1], "trial")
    assert run.info.status == "FAILED"
    assert run.data.tags["sweeper.state"] == "FAIL"
    assert run.data.tags["sweeper.fail_reason"] == "RuntimeError: boom after the run started"
    assert trial.user_attrs["fail_reason"] == "RuntimeError: boom after the run started"
    (parent,) = runs(urls(tmp_path)[1], "parent")
    assert parent.info.status == "FINISHED"


def test_a_nan_objective_is_fail_in_optuna_and_in_mlflow(
    tiny_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = objective_module.score_metrics

    def nan_quality(tasks, scores):  # noqa: ANN001, ANN202  (an evaluation that came out NaN)
        return real(tasks, scores) | {"quality": float("nan")}

    monkeypatch.setattr(objective_module, "score_metrics", nan_quality)
    study = sweep(tiny_study, tmp_path)

    (trial,) = study.trials
    assert trial.state.name == "FAIL"
    assert trial.user_attrs["fail_reason"] == "objective value not finite: quality=nan"
    (run,) = runs(urls(tmp_path)[1], "trial")
    assert run.info.status == "FAILED"
    assert run.data.tags["sweeper.state"] == "FAIL"
    assert run.data.tags["sweeper.fail_reason"] == "objective value not finite: quality=nan"


def test_a_failing_base_model_evaluation_closes_the_parent_run(
    tiny_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_baseline(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("the evaluation harness crashed")

    monkeypatch.setattr(objectives, "evaluate_base_model", broken_baseline)
    with pytest.raises(RuntimeError, match="harness crashed"):
        sweep(tiny_study, tmp_path, baseline=True)
    (parent,) = runs(urls(tmp_path)[1], "parent")
    assert parent.info.status == "FAILED"
    assert runs(urls(tmp_path)[1], "trial") == []
