"""A database-backed MLflow store (PostgreSQL) that is down gets what an HTTP server gets: a
bounded wait, a sweep that goes on without it, a pause after a failure mid-sweep, and
``sweeper sync`` catching up. Real PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from sweeper.cli import main
from sweeper.tracking import Tracker, TrackingUnavailable, probe_database_store
from tests.servers import PostgresServer, free_port

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database store's default artifact root is ./mlruns: keep it out of the checkout."""
    monkeypatch.chdir(tmp_path)


def test_a_store_that_is_down_is_skipped_and_sync_catches_up(
    tiny_study: Path,
    tmp_path: Path,
    postgres_url: str,
    postgres: PostgresServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    down = postgres_url.replace(f":{postgres.port}/", f":{free_port()}/")  # nothing listens
    with pytest.raises(TrackingUnavailable, match="did not accept a connection within 10 s"):
        probe_database_store(down)

    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    base = ["--storage", storage, "--no-baseline"]
    assert main(["run", str(tiny_study), *base, "--tracking-uri", down, "-n", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "running without MLflow" in out and "did not accept a connection" in out
    (trial,) = optuna.load_study(study_name="tiny", storage=storage).trials
    assert trial.state.name == "COMPLETE"

    # The store is back (here: the server that answers): sync writes the trial once.
    argv = ["sync", str(tiny_study), "--storage", storage, "--tracking-uri", postgres_url]
    assert main(argv) == 0
    assert "1 run(s) created [0]" in capsys.readouterr().out
    client = MlflowClient(postgres_url)
    experiment = client.get_experiment_by_name("tiny")
    (run,) = client.search_runs([experiment.experiment_id], "tags.`sweeper.role` = 'trial'")
    assert run.data.tags["sweeper.state"] == "COMPLETE"


def test_a_store_lost_mid_sweep_pauses_mlflow_and_marks_it_missed(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    try:
        tracker = Tracker(url, "lost")
        run_id = tracker.start_trial(tracker.experiment_id, 0, {"x": 1}, {})
        postgres.drop_database(name)  # the database goes away under the running sweep

        with pytest.raises(TrackingUnavailable, match="is unreachable"):
            tracker.log(run_id, metrics={"quality": 0.5})
        assert tracker.missed  # `sweeper sync` (or the runner's catch-up) is due
        # Within the pause, MLflow is not asked again: the sweep pays nothing more for it.
        with pytest.raises(TrackingUnavailable, match="did not answer a moment ago"):
            tracker.log(run_id, metrics={"quality": 0.5})
    finally:
        postgres.drop_database(name)
