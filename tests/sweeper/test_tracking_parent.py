"""One MLflow parent run per study, however many workers open the study at the same instant."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from mlflow import MlflowClient

from sweeper.storage import Claims
from sweeper.tracking import Tracker
from tests.servers import MlflowServer

PARENT_FILTER = "tags.`sweeper.role` = 'parent'"


class _RacingTracker(Tracker):
    """A real tracker whose parent search waits until every racer has searched: all of them find
    no parent and create one, the worst case the claim has to settle."""

    barrier: threading.Barrier

    def _search_parent(self, study_name: str, storage_key: str) -> str | None:
        found = super()._search_parent(study_name, storage_key)
        self.barrier.wait(timeout=60)
        return found


def _race(tracking_uri: str, experiment: str, storage_url: str | None, n: int) -> list[str]:
    _RacingTracker.barrier = threading.Barrier(n)
    start = threading.Barrier(n)
    ids: list[str | None] = [None] * n
    errors: list[BaseException] = []

    def open_parent(i: int) -> None:
        try:
            start.wait(timeout=60)
            # Created in the thread: workers also race to create the experiment and its tag.
            tracker = _RacingTracker(tracking_uri, experiment)
            ids[i] = tracker.parent_run(
                experiment, "storage-1", {"study_file": "x.yaml"}, {}, storage_url=storage_url
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=open_parent, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return [i for i in ids if i is not None]


def _parents(tracking_uri: str, experiment: str, *, deleted: bool = False) -> list:
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs(
        [exp.experiment_id],
        PARENT_FILTER,
        run_view_type=ViewType.ALL if deleted else ViewType.ACTIVE_ONLY,
    )


@pytest.mark.postgres
def test_workers_opening_a_study_at_once_share_one_parent_run(
    mlflow_tracking_server: MlflowServer, postgres_url: str, tmp_path: Path
) -> None:
    experiment = f"race-{tmp_path.name}"
    ids = _race(mlflow_tracking_server.url, experiment, postgres_url, n=4)
    assert len(ids) == 4 and len(set(ids)) == 1
    active = _parents(mlflow_tracking_server.url, experiment)
    assert [r.info.run_id for r in active] == ids[:1]
    # Every racer created a run (the barrier made sure); the three losers deleted theirs.
    assert len(_parents(mlflow_tracking_server.url, experiment, deleted=True)) == 4
    with Claims(postgres_url) as claims:
        tracker = Tracker(mlflow_tracking_server.url, experiment)
        assert claims.get(f"mlflow-parent:{tracker.tracking_key}:{experiment}") == ids[0]
    # A later worker finds the claimed run and creates nothing.
    again = Tracker(mlflow_tracking_server.url, experiment).parent_run(
        experiment, "storage-1", {}, {}, storage_url=postgres_url
    )
    assert again == ids[0]
    assert len(_parents(mlflow_tracking_server.url, experiment, deleted=True)) == 4


def test_without_the_storage_claim_the_race_makes_several_parents(
    mlflow_tracking_server: MlflowServer, tmp_path: Path
) -> None:
    """The race the claim settles is real: the same racers without it leave several parents."""
    experiment = f"race-unclaimed-{tmp_path.name}"
    ids = _race(mlflow_tracking_server.url, experiment, None, n=3)
    assert len(set(ids)) == 3
    assert len(_parents(mlflow_tracking_server.url, experiment)) == 3


def test_parent_race_on_sqlite_storage(tmp_path: Path) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    MlflowClient(tracking).create_experiment("race", artifact_location=tmp_path.as_uri())
    ids = _race(tracking, "race", storage, n=3)
    assert len(set(ids)) == 1
    assert len(_parents(tracking, "race")) == 1


def test_a_deleted_parent_run_is_replaced_once(tmp_path: Path) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    tracker = Tracker(tracking, "gone")
    first = tracker.parent_run("gone", "s", {}, {}, storage_url=storage)
    tracker.client.delete_run(first)
    second = tracker.parent_run("gone", "s", {}, {}, storage_url=storage)
    assert second != first
    assert tracker.parent_run("gone", "s", {}, {}, storage_url=storage) == second
    assert [r.info.run_id for r in _parents(tracking, "gone")] == [second]


def test_claims_first_writer_wins_and_swap_compares(tmp_path: Path) -> None:
    with Claims(f"sqlite:///{tmp_path / 's.db'}") as claims:
        assert claims.get("k") is None
        assert claims.claim("k", "a") == "a"
        assert claims.claim("k", "b") == "a"
        assert not claims.swap("k", "b", "c")
        assert claims.swap("k", "a", "c")
        assert claims.get("k") == "c"
