"""``sweeper sync`` and the runner's own catch-up: finished trials MLflow lacks are written once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from sweeper.cli import main
from sweeper.storage import Claims
from sweeper.sync import sync_trials
from sweeper.tracking import HTTP_RETRY_DEFAULTS, Tracker, storage_id
from tests.servers import MlflowServer
from tests.sweeper.test_distributed import (
    assert_one_run_per_finished_trial,
    child_runs,
    lean_study,
    load,
    start_worker,
    wait_all,
    wait_until,
)


@pytest.fixture(autouse=True)
def _fast_mlflow_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """A down server fails at once here (no retries); the settings end with the test."""
    for name, value in HTTP_RETRY_DEFAULTS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


def test_sync_writes_trials_run_without_mlflow_once(
    tiny_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["run", str(tiny_study), "--storage", storage, "--no-mlflow", "-n", "3"]) == 0
    trials = load("tiny", storage)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    assert not any("mlflow_run_id" in t.user_attrs for t in trials)
    capsys.readouterr()

    assert main(["sync", str(tiny_study), "--storage", storage, "--tracking-uri", tracking]) == 0
    assert "3 run(s) created [0, 1, 2]" in capsys.readouterr().out
    runs = assert_one_run_per_finished_trial(trials, tracking, "tiny")
    client = MlflowClient(tracking)
    for number, run in runs.items():
        assert run.data.tags["sweeper.synced"] == "true"
        assert run.info.status == "FINISHED"
        # the params the objective logged (kept in the trial for sync), e.g. alpha ratio 1 -> "1.0"
        for name, value in trials[number].params.items():
            logged = run.data.params[name]
            if isinstance(value, (int, float)):
                assert float(logged) == pytest.approx(float(value)), name
            else:
                assert logged == str(value), name
        assert run.data.metrics["cost_eur_trial"] == pytest.approx(
            trials[number].user_attrs["metrics"]["cost_eur_trial"]
        )
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["trial.json"]
    front = {t.number for t in optuna.load_study(study_name="tiny", storage=storage).best_trials}
    assert {n for n, r in runs.items() if r.data.tags["pareto"] == "true"} == front

    assert main(["sync", str(tiny_study), "--storage", storage, "--tracking-uri", tracking]) == 0
    assert "0 run(s) created [], 0 closed [], 3 already in MLflow" in capsys.readouterr().out
    assert_one_run_per_finished_trial(trials, tracking, "tiny")


def test_a_trial_claimed_by_another_writer_is_left_to_it_until_stale(
    tiny_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["run", str(tiny_study), "--storage", storage, "--no-mlflow", "-n", "2"]) == 0
    study = optuna.load_study(study_name="tiny", storage=storage)
    tracker = Tracker(tracking, "tiny")
    parent = tracker.parent_run("tiny", storage_id(storage), {}, {}, storage_url=storage)
    with Claims(storage) as claims:
        # Trial 0 is being written by a live process; trial 1's writer died ten minutes ago.
        claims.claim(f"mlflow-trial:{parent}:0", f"pending:other:{int(time.time())}")
        claims.claim(f"mlflow-trial:{parent}:1", f"pending:dead:{int(time.time()) - 600}")
        report = sync_trials(study, tracker, parent, claims)
        assert (report.busy, report.created) == ([0], [1])
        assert (
            claims.get(f"mlflow-trial:{parent}:1") == child_runs(tracking, "tiny")[1][0].info.run_id
        )
    assert sorted(child_runs(tracking, "tiny")) == [1]


@pytest.mark.slow
def test_mlflow_down_mid_sweep_then_sync_leaves_one_run_per_trial(
    tiny_study: Path,
    tmp_path: Path,
    mlflow_tracking_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    name = f"down-{uuid.uuid4().hex[:8]}"
    study = lean_study(tiny_study, tmp_path, name)
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    url = mlflow_tracking_server.url
    env = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "SWEEPER_MLFLOW_RETRY_AFTER_S": "1"}

    def complete() -> int:
        return sum(t.state.name == "COMPLETE" for t in load(name, storage))

    # 1. The server goes away for a few trials and comes back while the worker runs.
    total = 16
    worker = start_worker(study, storage, url, total, tmp_path, "1", env)
    wait_until(lambda: complete() >= 2, 120, "two trials with MLflow up")
    mlflow_tracking_server.stop()
    stopped_at = complete()
    wait_until(lambda: complete() >= stopped_at + 3, 90, "three trials with MLflow down")
    mlflow_tracking_server.start()
    restarted_at = complete()
    assert restarted_at <= total - 2, "the worker finished before MLflow came back: too slow"
    assert wait_all([worker], 240) == [0], (tmp_path / "worker-1.log").read_text()

    trials = load(name, storage)
    unlogged = [t for t in trials if "mlflow_run_id" not in t.user_attrs]
    assert len(unlogged) >= 3  # they ran while the server was down...
    for t in unlogged:  # ...and none waited on it for long
        assert (t.datetime_complete - t.datetime_start).total_seconds() < 30
    # The worker wrote them itself once MLflow answered again, each exactly once.
    runs = assert_one_run_per_finished_trial(trials, url, name)
    # (A run whose creation reached the server just as it stopped exists without the worker
    # knowing its id; sync then completes that run instead of creating one, so the check is on
    # what each run holds, not on who created it.)
    for t in unlogged:
        run = runs[t.number]
        assert run.info.status == "FINISHED", (t.number, run.info.status)
        assert run.data.metrics["cost_eur_trial"] == pytest.approx(
            t.user_attrs["metrics"]["cost_eur_trial"]
        )

    # 2. A worker that runs entirely while the server is down; `sweeper sync` catches up.
    mlflow_tracking_server.stop()
    worker = start_worker(study, storage, url, total + 2, tmp_path, "2", env)
    assert wait_all([worker], 120) == [0], (tmp_path / "worker-2.log").read_text()
    mlflow_tracking_server.start()
    trials = load(name, storage)
    assert len(trials) == total + 2
    assert sorted(child_runs(url, name)) == list(range(total))
    capsys.readouterr()
    assert main(["sync", str(study), "--storage", storage, "--tracking-uri", url]) == 0
    assert f"2 run(s) created [{total}, {total + 1}]" in capsys.readouterr().out
    assert_one_run_per_finished_trial(trials, url, name)
    assert main(["sync", str(study), "--storage", storage, "--tracking-uri", url]) == 0
    assert "0 run(s) created" in capsys.readouterr().out
    assert_one_run_per_finished_trial(trials, url, name)
