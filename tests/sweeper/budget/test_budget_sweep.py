"""Real sweeps on the tiny random model held to a hard euro budget: one worker on SQLite, and three
``sweeper run`` processes on one PostgreSQL study.

The guarantee checked (README, "Budget"): once the ledger refuses, no new trial starts, and the
spend passes the budget by at most the overruns (measured - reserved, when positive) of the trials
in flight at the last admission, computed from the ledger's own ordered history.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

import mlflow
import optuna
import pytest
import yaml

from sweeper.budget import (
    BUDGET_EXHAUSTED,
    PRIOR_BASELINE_KEY,
    BudgetLedger,
    LedgerEntry,
    overrun_bound_micro_eur,
    to_micro_eur,
)
from sweeper.cli import main
from sweeper.trial_record import spent_eur
from tests.conftest import write_study

pytestmark = pytest.mark.slow

#: Trials priced at 1 cent per second, so that their costs are far above the micro-euro.
EUR_PER_HOUR = 36.0


def set_study(study: Path, **changes: object) -> Path:
    data = yaml.safe_load(study.read_text())
    data.update(changes)
    return write_study(study, data)


def priced(study: Path) -> Path:
    hardware = yaml.safe_load(study.read_text())["hardware"]
    hardware["trial"] = {"name": "test-cpu", "eur_per_hour": EUR_PER_HOUR}
    # A busy CI machine can make a trial several times slower than its calibrated P90; these
    # tests are about admissions, so only a runaway trial is stopped (tests/sweeper/
    # test_budget_overrun.py tests the stop itself).
    return set_study(study, hardware=hardware, budget_overrun_factor=20.0)


def trial_costs(study: optuna.Study) -> dict[int, float]:
    return {
        t.number: t.user_attrs["metrics"]["cost_eur_trial"]
        for t in study.trials
        if "cost_eur_trial" in t.user_attrs.get("metrics", {})
    }


def assert_spend_within_the_guarantee(entries: list[LedgerEntry], budget_eur: float) -> int:
    """Check the README's guarantee on the ledger's history; return how many workers had trials
    in flight at once, at most."""
    admissions = [e for e in entries if e.closed_by != "record"]
    assert admissions, "nothing was ever admitted"
    assert all(e.state == "settled" for e in entries), "a reservation was left open"
    last_admission = max(e.reserved_seq for e in admissions)
    in_flight = [
        (e.estimate_micro_eur, e.actual_micro_eur or 0)
        for e in admissions
        if e.reserved_seq <= last_admission < (e.closed_seq or 0)
    ]
    spent = sum(e.actual_micro_eur or 0 for e in entries)
    budget = to_micro_eur(budget_eur, name="budget_eur", allow_zero=True)
    assert spent <= budget + overrun_bound_micro_eur(in_flight), (spent, budget, in_flight)
    most_open, open_workers = 0, {}
    events = sorted(
        [(e.reserved_seq, 1, e) for e in admissions] + [(e.closed_seq, -1, e) for e in admissions]
    )
    for _, change, e in events:
        if change == 1:
            open_workers[e.key] = e.worker_id
        else:
            open_workers.pop(e.key)
        most_open = max(most_open, len(set(open_workers.values())))
    return most_open


def assert_ledger_matches_the_study(storage: str, name: str) -> None:
    """Every recorded cost is in the ledger once, at the value the trial recorded."""
    study = optuna.load_study(study_name=name, storage=storage)
    with BudgetLedger(storage, name) as ledger:
        entries = {e.key: e for e in ledger.entries()}
        summary = ledger.summary()
    for number, cost in trial_costs(study).items():
        if cost > 0:
            assert entries[f"trial-{number}"].actual_eur == pytest.approx(cost, abs=1e-6)
        else:  # a refused trial books nothing
            assert f"trial-{number}" not in entries
    assert summary.reserved_eur == 0.0
    assert summary.spent_eur == pytest.approx(spent_eur(study), abs=1e-5)


def test_a_sweep_stops_starting_trials_when_the_budget_runs_out(
    tiny_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage, tracking = (
        f"sqlite:///{tmp_path / 'sweeper.db'}",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    study_file = set_study(priced(tiny_study), budget_eur=5.0)

    def run(*extra: str) -> int:
        return main(
            ["run", str(study_file), "--storage", storage, "--tracking-uri", tracking, *extra]
        )

    # 1. Ample budget: the base-model evaluation and two trials reserve and settle their costs.
    assert run("--trials", "2") == 0
    with BudgetLedger(storage, "tiny") as ledger:
        first = {e.key: e for e in ledger.entries()}
    study = optuna.load_study(study_name="tiny", storage=storage)
    baseline_key = next(k for k in first if k.startswith("baseline@"))
    assert first[baseline_key].actual_eur == pytest.approx(
        study.user_attrs["baseline"]["cost_eur_trial"], abs=1e-6
    )
    assert_ledger_matches_the_study(storage, "tiny")
    costs = trial_costs(study)
    per_trial_eur = statistics.mean(costs.values())
    spent_before = spent_eur(study)

    # 2. Lower the budget to what covers about three more trials; ask for eight.
    budget_eur = round(spent_before + 3.5 * per_trial_eur, 6)
    set_study(study_file, budget_eur=budget_eur)
    capsys.readouterr()
    assert run("--trials", "8") == 2  # the quote (P50 of 8 trials) does not fit
    assert "exceeds the remaining" in capsys.readouterr().err
    assert run("--trials", "8", "--force") == 2  # a different stored budget: not silently
    err = " ".join(capsys.readouterr().err.split())
    assert f"field 'budget_eur' is {budget_eur:g}" in err and "--update-budget" in err
    assert run("--trials", "8", "--force", "--update-budget") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"budget of study tiny changed from €5.0000 to €{budget_eur:.4f}" in out

    study = optuna.load_study(study_name="tiny", storage=storage)
    second = study.trials[2:]
    states = [t.state.name for t in second]
    assert 1 <= states.count("COMPLETE") < 8, states
    assert states[-1] == "PRUNED" and states.count("PRUNED") == 1, states
    assert second[-1].user_attrs["fail_reason"].startswith(f"{BUDGET_EXHAUSTED}: trial ")
    assert f"PRUNED cost_eur_trial=€0.0000 reason: {BUDGET_EXHAUSTED}" in out
    with BudgetLedger(storage, "tiny") as ledger:
        assert ledger.summary().budget_eur == budget_eur
        assert_spend_within_the_guarantee(ledger.entries(), budget_eur)
    assert_ledger_matches_the_study(storage, "tiny")

    # MLflow: the parent run has the budget and what remained after every trial.
    mlflow.set_tracking_uri(tracking)
    runs = mlflow.search_runs(experiment_names=["tiny"], output_format="pandas")
    parent_id = runs.loc[runs["tags.sweeper.role"] == "parent", "run_id"].iloc[0]
    client = mlflow.tracking.MlflowClient()
    remaining = client.get_metric_history(parent_id, "budget_remaining_eur")
    budgets = {m.value for m in client.get_metric_history(parent_id, "budget_eur")}
    assert budgets == {5.0, budget_eur}
    assert {m.step for m in remaining} >= {t.number for t in study.trials}
    assert min(m.value for m in remaining) < per_trial_eur * 2

    # 3. Raising the budget in the study file (and --update-budget) continues the study.
    raised_eur = round(budget_eur + 4 * per_trial_eur, 6)
    set_study(study_file, budget_eur=raised_eur)
    assert run("--trials", "1", "--update-budget") == 0
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert study.trials[-1].state.name == "COMPLETE"
    with BudgetLedger(storage, "tiny") as ledger:
        assert_spend_within_the_guarantee(ledger.entries(), raised_eur)
    assert_ledger_matches_the_study(storage, "tiny")

    # show: the ledger's budget, settled spend and reservations.
    capsys.readouterr()
    assert main(["show", str(study_file), "--storage", storage]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"budget €{raised_eur:.4f}: spent €{spent_eur(study):.4f} (settled)" in out
    assert "reserved €0.0000 by 0 running trial(s)" in out


def test_spend_before_a_budget_is_booked_when_one_is_declared(
    tiny_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    study_file = priced(tiny_study)
    assert main(["run", str(study_file), "--storage", storage, "--no-mlflow", "--trials", "1"]) == 0
    study = optuna.load_study(study_name="tiny", storage=storage)
    spent_before = spent_eur(study)

    set_study(study_file, budget_eur=round(spent_before + 0.000001, 6))  # nothing more fits
    assert main(["run", str(study_file), "--storage", storage, "--no-mlflow", "--force"]) == 0
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED"]
    with BudgetLedger(storage, "tiny") as ledger:
        entries = {e.key: e for e in ledger.entries()}
    assert set(entries) == {"trial-0", PRIOR_BASELINE_KEY}
    assert {e.closed_by for e in entries.values()} == {"record"}
    assert_ledger_matches_the_study(storage, "tiny")

    # A file without budget_eur keeps the stored budget in force.
    data = yaml.safe_load(study_file.read_text())
    del data["budget_eur"]
    write_study(study_file, data)
    capsys.readouterr()
    assert main(["run", str(study_file), "--storage", storage, "--no-mlflow", "--trials", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "declares no budget_eur; the study's stored budget" in out
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED", "PRUNED"]


WORKERS = 3


@pytest.mark.postgres
def test_three_worker_processes_share_one_budget_on_postgresql(
    tiny_study: Path, tmp_path: Path, postgres_url: str
) -> None:
    study_file = set_study(priced(tiny_study), budget_eur=5.0)
    sweeper = str(Path(sys.executable).parent / "sweeper")
    base = ["run", str(study_file), "--storage", postgres_url, "--no-mlflow", "--no-baseline"]

    # Calibrate the time model on one trial, then leave room for about five more.
    calibrate = subprocess.run([sweeper, *base, "--trials", "1"], cwd=tmp_path, capture_output=True)
    assert calibrate.returncode == 0, calibrate.stderr.decode()[-3000:]
    study = optuna.load_study(study_name="tiny", storage=postgres_url)
    per_trial_eur = trial_costs(study)[0]
    budget_eur = round(spent_eur(study) + 5 * per_trial_eur, 6)
    set_study(study_file, budget_eur=budget_eur)

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [
        subprocess.Popen(
            [sweeper, *base, "--trials", "6", "--force", "--update-budget"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(WORKERS)
    ]
    outputs = []
    for worker in workers:
        out, _ = worker.communicate(timeout=540)
        outputs.append(out.decode())
        assert worker.returncode == 0, outputs[-1][-3000:]

    study = optuna.load_study(study_name="tiny", storage=postgres_url)
    later = study.trials[1:]
    states = [t.state.name for t in later]
    refused = [t for t in later if t.state.name == "PRUNED"]
    assert 1 <= states.count("COMPLETE") < WORKERS * 6, states
    assert refused and len(refused) <= WORKERS, states
    assert all(t.user_attrs["fail_reason"].startswith(BUDGET_EXHAUSTED) for t in refused)
    # A worker stops at its first refusal: no trial of it starts after that.
    for out in outputs:
        lines = [
            line for line in out.splitlines() if line.startswith("trial ") and " PRUNED " in line
        ]
        assert len(lines) <= 1, out[-3000:]
    with BudgetLedger(postgres_url, "tiny") as ledger:
        entries = ledger.entries()
    most_open = assert_spend_within_the_guarantee(entries, budget_eur)
    assert most_open >= 2, "the workers never had trials in flight at the same time"
    assert len({e.worker_id for e in entries}) >= 2
    assert_ledger_matches_the_study(postgres_url, "tiny")
