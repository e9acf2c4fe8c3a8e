"""Ctrl-C and SIGTERM in the middle of a real trial: a ``sweeper run`` process on the tiny model is
signalled once its trial is running, and what it leaves behind is read back from the Optuna
storage, the MLflow store and the budget ledger."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy.exc
import yaml
from mlflow.tracking import MlflowClient

from sweeper.budget import BudgetLedger, trial_key
from sweeper.cli import exit_codes, main
from sweeper.cli._interrupt import Terminated, interrupts_raised
from sweeper.runner import INTERRUPTED
from sweeper.trial_record import ATTR_FAIL_REASON, ATTR_METRICS, ATTR_MLFLOW_RUN
from tests.conftest import write_study

REPO = Path(__file__).resolve().parents[3]
#: How long the run may take to reach its trial, and to finish after the signal (seconds).
START_TIMEOUT_S = 240
STOP_TIMEOUT_S = 120


@pytest.fixture
def budgeted_study(tiny_study: Path) -> Path:
    data = yaml.safe_load(tiny_study.read_text())
    data["budget_eur"] = 50.0
    return write_study(tiny_study, data)


def urls(tmp_path: Path) -> list[str]:
    return [
        "--storage",
        f"sqlite:///{tmp_path / 'sweeper.db'}",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
    ]


def start_run(study: Path, tmp_path: Path, trials: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from sweeper.cli import main; sys.exit(main())",
            "run",
            str(study),
            "--trials",
            str(trials),
            "--no-baseline",
            *urls(tmp_path),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_running_trial(
    process: subprocess.Popen[str], storage: optuna.storages.RDBStorage, number: int
) -> None:
    """Until trial ``number`` is inside the objective (its MLflow run exists)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            study = optuna.load_study(study_name="tiny", storage=storage)
        except KeyError:  # not created yet
            study = None
        if study is not None:
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                if t.number == number and ATTR_MLFLOW_RUN in t.user_attrs:
                    return
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"trial {number} was not running within {START_TIMEOUT_S} s")


def open_when_created(
    process: subprocess.Popen, db_file: Path, storage_url: str
) -> optuna.storages.RDBStorage:
    """The run's storage, once the run has created it: the file may not exist yet, and opening
    it while the run is still creating its tables races that (SQLite: "table ... already
    exists", or a duplicate alembic version), so retry until the schema is complete."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if db_file.exists():
            try:
                return optuna.storages.RDBStorage(storage_url)
            except sqlalchemy.exc.SQLAlchemyError:  # tables or alembic version half-written
                pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"the run did not create its storage within {START_TIMEOUT_S} s")


def interrupt(
    study: Path, tmp_path: Path, signum: int, *, trials: int, number: int
) -> tuple[int, str]:
    """Start a run, signal it while trial ``number`` runs; its exit code and stderr."""
    storage_url = f"sqlite:///{tmp_path / 'sweeper.db'}"
    process = start_run(study, tmp_path, trials)
    storage = open_when_created(process, tmp_path / "sweeper.db", storage_url)
    try:
        wait_for_running_trial(process, storage, number)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
    finally:
        storage.engine.dispose()
    return process.returncode, stderr


def assert_recorded_as_interrupted(tmp_path: Path, number: int) -> optuna.Study:
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'sweeper.db'}")
    trial = study.trials[number]
    assert trial.state == optuna.trial.TrialState.FAIL
    assert trial.user_attrs[ATTR_FAIL_REASON] == INTERRUPTED
    cost_eur = trial.user_attrs[ATTR_METRICS]["cost_eur_trial"]
    assert cost_eur > 0
    # Its MLflow run is closed, with the reason; the parent run is closed too.
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(trial.user_attrs[ATTR_MLFLOW_RUN])
    assert run.info.status == "FAILED"
    assert run.data.tags["sweeper.fail_reason"] == INTERRUPTED
    experiment = client.get_experiment_by_name("tiny")
    every_run = client.search_runs([experiment.experiment_id])
    assert not [r.info.run_name for r in every_run if r.info.status == "RUNNING"]
    parents = [r for r in every_run if r.data.tags.get("sweeper.role") == "parent"]
    assert [p.info.status for p in parents] == ["KILLED"]
    # The budget reservation is settled at what the trial spent, nothing left reserved.
    with BudgetLedger(f"sqlite:///{tmp_path / 'sweeper.db'}", "tiny") as ledger:
        entries = {e.key: e for e in ledger.entries()}
        summary = ledger.summary()
    entry = entries[trial_key(number)]
    assert entry.state == "settled"
    assert entry.actual_eur == pytest.approx(cost_eur, abs=1e-6)
    assert summary.reserved_eur == 0
    return study


def test_ctrl_c_fails_the_running_trial_keeps_the_rest_and_resumes(
    budgeted_study: Path, tmp_path: Path
) -> None:
    assert (
        main(["run", str(budgeted_study), "--trials", "1", "--no-baseline", *urls(tmp_path)]) == 0
    )

    code, stderr = interrupt(budgeted_study, tmp_path, signal.SIGINT, trials=2, number=1)

    assert code == exit_codes.INTERRUPTED_SIGINT == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        "interrupted (SIGINT): completed trials are saved; run the same command to resume."
    )
    study = assert_recorded_as_interrupted(tmp_path, number=1)
    completed = study.trials[0]
    assert completed.state == optuna.trial.TrialState.COMPLETE

    # The same command resumes: a new trial, the completed one untouched.
    assert (
        main(["run", str(budgeted_study), "--trials", "1", "--no-baseline", *urls(tmp_path)]) == 0
    )
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'sweeper.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL", "COMPLETE"]
    assert study.trials[0].values == completed.values


def test_sigterm_does_the_same_with_exit_143(budgeted_study: Path, tmp_path: Path) -> None:
    code, stderr = interrupt(budgeted_study, tmp_path, signal.SIGTERM, trials=1, number=0)

    assert code == exit_codes.INTERRUPTED_SIGTERM == 143, stderr
    assert "Traceback" not in stderr, stderr
    assert "interrupted (SIGTERM)" in stderr
    assert_recorded_as_interrupted(tmp_path, number=0)


class SignalledWhileFinalized:
    """Receives SIGTERM inside its finalizer, where Python drops exceptions."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(100):  # the signal handler runs here, inside __del__
            sum(range(100))


def test_an_interrupt_dropped_by_a_finalizer_is_raised_again() -> None:
    """Seen for real: a SIGTERM that landed in SQLAlchemy's weakref callback during garbage
    collection was dropped ("Exception ignored in ...") and the worker ran on."""
    finished = []
    with pytest.raises(Terminated), interrupts_raised() as watch:
        SignalledWhileFinalized()  # collected at once
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
        finished.append(True)
    assert watch.signum == signal.SIGTERM
    assert not finished
