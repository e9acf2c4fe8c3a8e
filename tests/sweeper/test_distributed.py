"""Several ``sweeper worker`` processes on one study: real CLI processes, real PostgreSQL, real
MLflow server. Each trial trains and evaluates the tiny random model (a few seconds)."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import sqlalchemy as sa
import yaml
from mlflow import MlflowClient
from sqlalchemy.pool import NullPool

from tests.conftest import write_study
from tests.servers import MlflowServer

SWEEPER = Path(sys.executable).with_name("sweeper")
FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def lean_study(tiny_study: Path, tmp_path: Path, name: str) -> Path:
    """The tiny study, leaner still: one epoch, two eval items, quality only."""
    data = copy.deepcopy(yaml.safe_load(tiny_study.read_text()))
    data["name"] = name
    data["eval"]["tasks"] = {"quality": data["eval"]["tasks"]["quality"]}
    data["eval"]["limit"] = 2
    data["search_space"]["epochs"] = {"value": 1}
    return write_study(tmp_path / f"{name}.yaml", data)


def start_worker(
    study: Path,
    storage: str,
    tracking: str | None,
    total: int,
    cwd: Path,
    tag: str,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """A ``sweeper worker`` process logging to ``cwd/worker-<tag>.log``; ``tracking`` None: no
    MLflow."""
    argv = [str(SWEEPER), "worker", str(study), "--storage", storage]
    argv += ["--no-mlflow"] if tracking is None else ["--tracking-uri", tracking]
    argv += ["--total", str(total), "--no-baseline"]
    log = open(cwd / f"worker-{tag}.log", "ab")  # noqa: SIM115  closed with the process
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )


def cached_study(tiny_study: Path, tmp_path: Path, name: str) -> Path:
    """The lean study with every dimension fixed: the first trial trains and evaluates, every
    later one finds that work in the cache, so a worker runs a hundred trials in a few minutes."""
    data = yaml.safe_load(lean_study(tiny_study, tmp_path, name).read_text())
    data["search_space"] = {
        "lora_r": {"choices": [4]},  # a space needs one searched dimension
        "lora_alpha_ratio": {"value": 1},
        "learning_rate": {"value": 1.0e-3},
        "target_modules": {"value": "q_v"},
        "epochs": {"value": 1},
    }
    return write_study(tmp_path / f"{name}.yaml", data)


def wait_all(procs: list[subprocess.Popen], timeout_s: float) -> list[int]:
    """Exit codes of every worker; stops them all as soon as one fails or time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        codes = [p.poll() for p in procs]
        if any(c not in (None, 0) for c in codes) or all(c is not None for c in codes):
            break
        time.sleep(0.5)
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    codes = [p.returncode for p in procs]
    if time.monotonic() >= deadline and any(c != 0 for c in codes):
        pytest.fail(f"workers still running after {timeout_s} s")
    return codes


def reader_storage(url: str) -> optuna.storages.RDBStorage:
    """A storage for a test's own reads: no pool, so it holds no connection between reads."""
    return optuna.storages.RDBStorage(url, engine_kwargs={"poolclass": NullPool})


@pytest.fixture
def pg_storage(postgres_url: str) -> Iterator[optuna.storages.RDBStorage]:
    """One storage for every read of a test (polls included), disposed at its end: a storage
    opened per 0.2-s poll and never disposed ran PostgreSQL out of connections on a busy machine.
    """
    storage = reader_storage(postgres_url)
    yield storage
    storage.engine.dispose()


def load(name: str, storage: str | optuna.storages.RDBStorage) -> list[optuna.trial.FrozenTrial]:
    """The study's trials; none while no worker has created the study yet. Given a URL, the
    storage opened for this read is disposed before returning."""
    if isinstance(storage, str):
        opened = reader_storage(storage)
        try:
            return load(name, opened)
        finally:
            opened.engine.dispose()
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return []
    return study.get_trials(deepcopy=False)


def wait_until(predicate, timeout_s: float, what: str, poll_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def child_runs(tracking: str, experiment: str) -> dict[int, list]:
    client = MlflowClient(tracking)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs(
        [exp.experiment_id], "tags.`sweeper.role` = 'trial'", max_results=5000
    )
    by_number: dict[int, list] = {}
    for run in runs:
        by_number.setdefault(int(run.data.tags["sweeper.trial_number"]), []).append(run)
    return by_number


def parent_runs(tracking: str, experiment: str) -> list:
    client = MlflowClient(tracking)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], "tags.`sweeper.role` = 'parent'")


def assert_one_run_per_finished_trial(
    trials: list[optuna.trial.FrozenTrial], tracking: str, name: str
) -> dict[int, object]:
    finished = {t.number: t for t in trials if t.state.name in FINISHED}
    runs = child_runs(tracking, name)
    assert sorted(runs) == sorted(finished), "child runs and finished trials differ"
    duplicated = {n: len(r) for n, r in runs.items() if len(r) != 1}
    assert not duplicated, f"trials with more than one run: {duplicated}"
    parent_id = parent_runs(tracking, name)[0].info.run_id
    for number, (run,) in runs.items():
        trial = finished[number]
        assert run.data.tags["sweeper.state"] == trial.state.name, number
        assert run.data.tags["mlflow.parentRunId"] == parent_id
        assert run.info.status in ("FINISHED", "FAILED", "KILLED"), number
        metrics = trial.user_attrs.get("metrics") or {}
        if "quality" in metrics:
            assert run.data.metrics["quality"] == pytest.approx(metrics["quality"]), number
    return {n: r[0] for n, r in runs.items()}


@pytest.mark.slow
@pytest.mark.postgres
def test_three_worker_processes_finish_one_study(
    tiny_study: Path,
    tmp_path: Path,
    postgres_url: str,
    pg_storage: optuna.storages.RDBStorage,
    mlflow_tracking_server: MlflowServer,
) -> None:
    name = f"dist-{uuid.uuid4().hex[:8]}"
    study = lean_study(tiny_study, tmp_path, name)
    total = 60
    started = time.monotonic()
    workers = [
        start_worker(study, postgres_url, mlflow_tracking_server.url, total, tmp_path, str(i))
        for i in range(3)
    ]
    # A hang guard only: about 70 s when the CPUs are free, 300 s and more on a loaded 2-core
    # machine (each trial also returns its memory to the OS with a full garbage collection).
    codes = wait_all(workers, timeout_s=900)
    logs = {i: (tmp_path / f"worker-{i}.log").read_text() for i in range(3)}
    assert codes == [0, 0, 0], logs
    elapsed = time.monotonic() - started

    trials = load(name, pg_storage)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))  # each number once, none skipped
    states = Counter(t.state.name for t in trials)
    assert states["COMPLETE"] + states["PRUNED"] >= total
    # A worker checks after each of its trials: at most one extra trial per other worker.
    assert len(trials) <= total + 2, states
    assert set(states) <= {"COMPLETE", "PRUNED"}, states  # nothing lost, left running or failed
    # Every worker took part (each printed its own trials).
    for i, text in logs.items():
        assert text.count(": trial ") >= 5, f"worker {i} ran few trials:\n{text}"
    done_lines = sum(text.count(": trial ") for text in logs.values())
    assert done_lines == len(trials)  # each trial ran in exactly one worker

    assert len(parent_runs(mlflow_tracking_server.url, name)) == 1
    assert_one_run_per_finished_trial(trials, mlflow_tracking_server.url, name)
    print(f"3 workers, {len(trials)} trials in {elapsed:.0f} s")


@pytest.mark.slow
@pytest.mark.postgres
def test_a_killed_workers_trial_is_failed_and_retried(
    tiny_study: Path,
    tmp_path: Path,
    postgres_url: str,
    pg_storage: optuna.storages.RDBStorage,
    mlflow_tracking_server: MlflowServer,
) -> None:
    name = f"kill-{uuid.uuid4().hex[:8]}"
    study = lean_study(tiny_study, tmp_path, name)
    total = 6
    fast_heartbeat = {"SWEEPER_HEARTBEAT_INTERVAL_S": "1", "SWEEPER_HEARTBEAT_GRACE_S": "3"}
    url = mlflow_tracking_server.url

    killed: optuna.trial.FrozenTrial | None = None
    before: dict[int, tuple] = {}
    for attempt in range(3):  # a kill between two trials leaves nothing running: try again
        victim = start_worker(
            study, postgres_url, url, 100, tmp_path, f"victim{attempt}", fast_heartbeat
        )

        def running_after_two_complete(attempt: int = attempt) -> bool:
            trials = load(name, pg_storage)
            done = sum(t.state.name == "COMPLETE" for t in trials)
            return done >= 2 + 2 * attempt and any(t.state.name == "RUNNING" for t in trials)

        wait_until(running_after_two_complete, 600, "a running trial after two completed ones")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        trials = load(name, pg_storage)
        running = [t for t in trials if t.state.name == "RUNNING"]
        if running:
            (killed,) = running
            before = {t.number: (t.params, t.values) for t in trials if t.state.name == "COMPLETE"}
            break
    assert killed is not None, "never caught the worker in the middle of a trial"

    rescuer = start_worker(study, postgres_url, url, total, tmp_path, "rescuer", fast_heartbeat)
    assert wait_all([rescuer], timeout_s=600) == [0], (tmp_path / "worker-rescuer.log").read_text()

    trials = {t.number: t for t in load(name, pg_storage)}
    assert trials[killed.number].state.name == "FAIL"  # failed through its stale heartbeat
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1
    (retry,) = retries
    assert retry.state.name == "COMPLETE" and retry.params == killed.params
    for number, (params, values) in before.items():  # no completed trial lost or changed
        assert trials[number].state.name == "COMPLETE"
        assert (trials[number].params, trials[number].values) == (params, values)
    states = Counter(t.state.name for t in trials.values())
    assert states["COMPLETE"] >= total and states["RUNNING"] == states["WAITING"] == 0, states

    # MLflow: the killed trial's run, left RUNNING by the dead worker, was closed as failed by
    # the rescuer's end-of-run sync; every finished trial has exactly one run.
    runs = assert_one_run_per_finished_trial(list(trials.values()), url, name)
    dead = runs[killed.number]
    assert dead.info.status == "FAILED"
    assert "worker was killed" in dead.data.tags["sweeper.fail_reason"]
    assert runs[retry.number].data.tags["sweeper.state"] == "COMPLETE"


#: What a worker holds on the study's PostgreSQL, documented in the README ("Several machines"):
#: two connections for the study storage (the trial loop and the trial's heartbeat thread) and
#: one for the budget ledger. The pools cap it at 6 (sweeper.storage and sweeper.budget._engine).
WORKER_CONNECTIONS = 3


def worker_connections(postgres_url: str, application_name: str) -> int:
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"),
                {"app": application_name},
            ).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_long_running_worker_holds_a_constant_number_of_connections(
    tiny_study: Path, tmp_path: Path, postgres_url: str, pg_storage: optuna.storages.RDBStorage
) -> None:
    name = f"conn-{uuid.uuid4().hex[:8]}"
    study = cached_study(tiny_study, tmp_path, name)
    app = f"sweeper-worker-{uuid.uuid4().hex[:8]}"  # libpq names the worker's connections so
    worker = start_worker(study, postgres_url, None, 100_000, tmp_path, "conn", {"PGAPPNAME": app})
    log = tmp_path / "worker-conn.log"

    def finished_at_least(n: int) -> bool:
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with {worker.returncode}:\n{log.read_text()}")
        return sum(t.state.name in FINISHED for t in load(name, pg_storage)) >= n

    try:  # hang guards only: a loaded 2-core machine runs these in about a minute
        wait_until(lambda: finished_at_least(10), 600, "10 finished trials", poll_s=0.5)
        after_10 = worker_connections(postgres_url, app)
        wait_until(lambda: finished_at_least(100), 900, "100 finished trials", poll_s=0.5)
        after_100 = worker_connections(postgres_url, app)
    finally:
        worker.kill()
        worker.wait()
    states = Counter(t.state.name for t in load(name, pg_storage))
    assert states["FAIL"] == 0, (states, log.read_text())
    print(f"worker connections after 10 trials: {after_10}, after 100: {after_100}")
    assert after_10 == after_100 == WORKER_CONNECTIONS


def test_stop_at_total_counts_finished_trials_and_guards_against_all_failing() -> None:
    from optuna.trial import TrialState, create_trial

    from sweeper.storage import StopAtTotalTrials

    def study_with(*states: TrialState) -> optuna.Study:
        study = optuna.create_study()
        for state in states:
            values = 1.0 if state == TrialState.COMPLETE else None
            study.add_trial(create_trial(state=state, value=values))
        return study

    stop = StopAtTotalTrials(3)
    C, P, F, R = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING
    assert not stop.reached(study_with(C, P, F, R, F))  # 2 finished, 2 failed
    assert stop.reached(study_with(C, P, F, C))
    assert stop.reached(study_with(F, F, F, C))  # every trial failing would never end otherwise
    study = study_with(C, C)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=10, callbacks=[stop])
    assert len(study.trials) == 3  # stopped after the trial that made three
    with pytest.raises(ValueError, match="total >= 1"):
        StopAtTotalTrials(0)
