"""The real thing: a 2-trial sweep of the demo study on the bundled SmolLM2-135M (minutes)."""

from __future__ import annotations

import copy
from pathlib import Path

import mlflow
import optuna
import pytest

from sweeper.cli import main
from tests.conftest import demo_study_data, write_study


@pytest.mark.slow
def test_demo_study_two_trials_on_bundled_model(tmp_path: Path) -> None:
    data = copy.deepcopy(demo_study_data())
    data["training"]["steps_per_epoch"] = 6
    data["search_space"]["epochs"] = {"choices": [1, 2]}
    data["search_space"]["learning_rate"] = {"low": 1.0e-3, "high": 3.0e-3, "log": True}
    data["eval"]["limit"] = 24
    study = write_study(tmp_path / "demo-small.yaml", data)
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"

    assert (
        main(["run", str(study), "--trials", "2", "--storage", storage, "--tracking-uri", tracking])
        == 0
    )

    trials = optuna.load_study(study_name="demo", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    mlflow.set_tracking_uri(tracking)
    df = mlflow.search_runs(experiment_names=["demo"])
    assert (df["tags.sweeper.role"] == "parent").sum() == 1
    children = df[df["tags.sweeper.role"] == "trial"]
    assert len(children) == 2
    for metric in (
        "quality",
        "quality_stderr",
        "retention",
        "cost_eur_trial",
        "cost_eur_train_projected",
        "gpu_hours_train_projected",
        "tokens_trained",
        "peak_memory_bytes",
    ):
        assert children[f"metrics.{metric}"].notna().all(), metric
    parent = df[df["tags.sweeper.role"] == "parent"].iloc[0]
    # Even a short LoRA learns the JSON schema: better than the base model on the task metric.
    assert children["metrics.quality"].max() > parent["metrics.baseline_quality"]
    assert parent["metrics.spent_eur_total"] == pytest.approx(
        children["metrics.cost_eur_trial"].sum() + parent["metrics.baseline_cost_eur"], rel=1e-6
    )
