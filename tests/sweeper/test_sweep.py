"""A sweep end to end on the tiny random model: Optuna storage, MLflow runs, resume, failures."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import optuna
import pytest

from sweeper.cli import main
from sweeper.hardware_probe import machine_name


def urls(tmp_path: Path) -> tuple[str, str]:
    return f"sqlite:///{tmp_path / 'sweeper.db'}", f"sqlite:///{tmp_path / 'mlflow.db'}"


def run(study: Path, tmp_path: Path, *extra: str) -> int:
    storage, tracking = urls(tmp_path)
    return main(["run", str(study), "--storage", storage, "--tracking-uri", tracking, *extra])


def runs(tmp_path: Path, experiment: str):
    _, tracking = urls(tmp_path)
    mlflow.set_tracking_uri(tracking)
    return mlflow.search_runs(experiment_names=[experiment], output_format="pandas")


def test_two_trial_sweep_logs_parent_and_children(tiny_study: Path, tmp_path: Path) -> None:
    assert run(tiny_study, tmp_path) == 0
    storage, _ = urls(tmp_path)
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.metric_names == ["quality", "cost_eur_train_projected"]
    df = runs(tmp_path, "tiny")
    parents = df[df["tags.sweeper.role"] == "parent"]
    children = df[df["tags.sweeper.role"] == "trial"]
    assert len(parents) == 1 and len(children) == 2
    parent_id = parents["run_id"].iloc[0]
    assert set(children["tags.mlflow.parentRunId"]) == {parent_id}
    for col in [
        "quality",
        "quality_stderr",
        "retention",
        "cost_eur_trial",
        "cost_eur_train_projected",
        "gpu_hours_train_projected",
        "train_seconds",
        "tokens_trained",
        "peak_memory_bytes",
    ]:
        assert children[f"metrics.{col}"].notna().all(), col
    assert (children["metrics.cost_eur_trial"] > 0).all()
    assert (children["metrics.cost_eur_train_projected"] > 0).all()
    for col in [
        "params.lora_r",
        "params.lora_alpha",
        "params.learning_rate",
        "params.target_modules",
        "tags.sweeper.study_sha256",
        "tags.sweeper.version",
        "tags.sweeper.seed",
        "tags.catalog.sha256",
    ]:
        assert children[col].notna().all(), col
    assert set(children["tags.sweeper.state"]) == {"COMPLETE"}
    storage_study = optuna.load_study(study_name="tiny", storage=urls(tmp_path)[0])
    front = {str(t.number) for t in storage_study.best_trials}
    tagged = set(children.loc[children["tags.pareto"] == "true", "tags.sweeper.trial_number"])
    assert tagged == front
    assert set(children["tags.pareto"]) <= {"true", "false"}
    assert parents["metrics.baseline_quality"].notna().all()
    assert parents["metrics.spent_eur_total"].iloc[0] > 0
    client = mlflow.tracking.MlflowClient()
    exp = client.get_experiment_by_name("tiny")
    assert exp.tags.get("mlflow.experimentKind") == "custom_model_development"


def test_rerun_adds_trials_and_never_repeats(tiny_study: Path, tmp_path: Path) -> None:
    assert run(tiny_study, tmp_path) == 0
    storage, _ = urls(tmp_path)
    before = {
        t.number: (t.params, t.values, t.datetime_complete)
        for t in optuna.load_study(study_name="tiny", storage=storage).trials
    }
    assert run(tiny_study, tmp_path, "--trials", "1") == 0
    after = optuna.load_study(study_name="tiny", storage=storage).trials
    assert [t.number for t in after] == [0, 1, 2]
    for t in after[:2]:
        assert (t.params, t.values, t.datetime_complete) == before[t.number]
    assert after[2].params != after[0].params and after[2].params != after[1].params
    df = runs(tmp_path, "tiny")
    assert (df["tags.sweeper.role"] == "parent").sum() == 1
    assert (df["tags.sweeper.role"] == "trial").sum() == 3


def test_failing_trial_is_recorded_and_sweep_goes_on(
    tiny_study: Path, tmp_path: Path, monkeypatch
) -> None:
    import objectives

    real = objectives.train_lora
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated out of memory")
        return real(*args, **kwargs)

    monkeypatch.setattr(objectives, "train_lora", flaky)
    assert run(tiny_study, tmp_path) == 0
    storage, _ = urls(tmp_path)
    trials = optuna.load_study(study_name="tiny", storage=storage).trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert trials[0].user_attrs["fail_reason"] == "RuntimeError: simulated out of memory"
    assert trials[0].user_attrs["metrics"]["cost_eur_trial"] > 0  # charged what it spent
    df = runs(tmp_path, "tiny")
    failed = df[df["tags.sweeper.state"] == "FAIL"]
    assert len(failed) == 1
    assert failed["status"].iloc[0] == "FAILED"
    assert "simulated out of memory" in failed["tags.sweeper.fail_reason"].iloc[0]


def test_show_and_quote_json(tiny_study: Path, tmp_path: Path, capsys) -> None:
    storage, _ = urls(tmp_path)
    assert main(["quote", str(tiny_study), "--storage", storage, "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert before["calibration"].startswith("uncalibrated")
    for key in ("trial_seconds", "cost_eur_trial", "cost_eur_train_projected"):
        s = before["per_trial"][key]
        assert 0 < s["p10"] <= s["p50"] <= s["p90"], key
    assert before["study_total"]["cost_eur_p50"] <= before["study_total"]["cost_eur_p90"]

    assert run(tiny_study, tmp_path, "--no-mlflow") == 0
    capsys.readouterr()
    assert main(["show", str(tiny_study), "--storage", storage, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [t["number"] for t in shown["trials"]] == [0, 1]
    assert shown["pareto_trials"] and set(shown["pareto_trials"]) <= {0, 1}
    assert all("quality" in t["metrics"] for t in shown["trials"])

    assert main(["quote", str(tiny_study), "--storage", storage, "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["calibration"].startswith("calibrated from 2")


def test_show_unknown_study_is_one_line(tiny_study: Path, tmp_path: Path, capsys) -> None:
    storage, _ = urls(tmp_path)
    assert main(["show", str(tiny_study), "--storage", storage]) == 2
    assert "no study named 'tiny'" in capsys.readouterr().err


@pytest.mark.parametrize("objective", ["retention", "cost_eur_trial"])
def test_objective_names_are_used_everywhere(
    tiny_study: Path, tmp_path: Path, objective: str
) -> None:
    import yaml

    data = yaml.safe_load(tiny_study.read_text())
    data["objectives"] = [{"name": "quality"}, {"name": objective}]
    data["trials"] = 1
    tiny_study.write_text(yaml.safe_dump(data))
    assert run(tiny_study, tmp_path, "--no-baseline") == 0
    storage, _ = urls(tmp_path)
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert study.metric_names == ["quality", objective]
    t = study.trials[0]
    assert t.values == [t.user_attrs["metrics"]["quality"], t.user_attrs["metrics"][objective]]
    # The machine it ran on: the quote compares only this machine's trials with its probe.
    assert t.user_attrs["machine"] == machine_name()
