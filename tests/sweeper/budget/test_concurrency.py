"""The budget holds with several worker processes at once, on SQLite and on PostgreSQL.

The stated guarantee: admitted reservations never exceed what remains, and the final spend passes
the budget by at most the overruns (actual - estimate, when positive) of the trials that were in
flight at the last admission. Every check below is computed from the ledger's own history, whose
change counter (``reserved_seq``/``closed_seq``) orders all operations of all workers.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa

from sweeper.budget import Balance, BudgetLedger, LedgerEntry, overrun_bound_micro_eur, to_micro_eur

from .hammer import HammerPlan, run_worker

WORKERS = 4
BUDGET_EUR = 12.0


def _run_workers(storage_url: str, out_dir: Path) -> list[dict]:
    ctx = multiprocessing.get_context("spawn")
    start_together = ctx.Barrier(WORKERS)
    processes = [
        ctx.Process(
            target=run_worker,
            args=(
                HammerPlan(
                    storage_url,
                    "hammered",
                    index,
                    seed=1000 + index,
                    estimate_eur_low=0.05,
                    estimate_eur_high=0.25,
                ),
                start_together,
                str(out_dir),
            ),
        )
        for index in range(WORKERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    exit_codes = [process.exitcode for process in processes]
    for process in processes:
        if process.is_alive():
            process.kill()
    assert exit_codes == [0] * WORKERS
    return [json.loads((out_dir / f"worker-{i}.json").read_text()) for i in range(WORKERS)]


def test_concurrent_workers_never_overspend_the_budget(storage_url: str, tmp_path: Path) -> None:
    with BudgetLedger(storage_url, "hammered") as ledger:
        ledger.set_budget(BUDGET_EUR)
        reports = _run_workers(storage_url, tmp_path)
        entries = ledger.entries()
        summary = ledger.summary()
    budget = to_micro_eur(BUDGET_EUR, name="budget_eur", allow_zero=True)

    # Every worker ran until the ledger refused it, and every trial it ran is in the ledger once,
    # with its own estimate and cost: nothing lost, nothing counted twice, no refusal booked.
    assert all(report["refused"] is not None for report in reports)
    ran = {t["key"]: t for report in reports for t in report["trials"]}
    booked = {e.key: e for e in entries}
    assert len(booked) == len(entries) == len(ran) > 4 * WORKERS
    assert booked.keys() == ran.keys()
    assert not {report["refused"]["key"] for report in reports} & booked.keys()
    for key, trial in ran.items():
        entry = booked[key]
        assert entry.estimate_micro_eur == trial["estimate_micro_eur"]
        assert entry.actual_micro_eur == trial["actual_micro_eur"]
        assert entry.state == ("released" if trial["actual_micro_eur"] is None else "settled")
    spent = sum(e.actual_micro_eur or 0 for e in entries)
    assert to_micro_eur(summary.spent_eur, name="spent", allow_zero=True) == spent
    assert summary.reserved_eur == 0.0

    # One operation at a time: the change counter has no gap and no repeat across all workers.
    events = _history(entries)
    assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1))

    # Replayed in that order, each admission fitted in what remained at that moment ...
    balance, open_workers, most_open = Balance(budget), {}, 0
    for _, kind, entry in events:
        if kind == "reserve":
            assert balance.admits(entry.estimate_micro_eur), entry
            balance = balance.reserve(entry.estimate_micro_eur)
            open_workers[entry.key] = entry.worker_id
            most_open = max(most_open, len(set(open_workers.values())))
        elif entry.state == "settled":
            balance = balance.settle(entry.estimate_micro_eur, entry.actual_micro_eur)
            del open_workers[entry.key]
        else:
            balance = balance.release(entry.estimate_micro_eur)
            del open_workers[entry.key]
    assert balance.spent_micro_eur == spent
    assert most_open >= 2, "the workers never had trials in flight at the same time"

    # ... and the spend passes the budget by at most the overruns of the trials in flight then.
    last_admission = max(e.reserved_seq for e in entries)
    in_flight = [
        (e.estimate_micro_eur, e.actual_micro_eur or 0)
        for e in entries
        if e.reserved_seq <= last_admission < e.closed_seq
    ]
    assert spent <= budget + overrun_bound_micro_eur(in_flight)

    # No worker was refused while its estimate fitted: the last refusal came when every other
    # worker had stopped and nothing was in flight, so by then the spend was final.
    assert any(spent + report["refused"]["estimate_micro_eur"] > budget for report in reports)


def _history(entries: list[LedgerEntry]) -> list[tuple[int, str, LedgerEntry]]:
    events = [(e.reserved_seq, "reserve", e) for e in entries]
    events += [(e.closed_seq, "close", e) for e in entries if e.closed_seq is not None]
    return sorted(events, key=lambda event: event[0])


def _hold_the_study_lock(
    storage_url: str, locked: threading.Event, release: threading.Event
) -> None:
    """What another worker's transaction does first: take the lock, here without letting go."""
    url = sa.make_url(storage_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(30)
        conn.execute("COMMIT")
        conn.close()
        return
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("SELECT * FROM sweeper_budget_ledger WHERE study_name = 'locked' FOR UPDATE")
        ).one()
        locked.set()
        release.wait(30)
    engine.dispose()


def test_a_reservation_waits_while_another_transaction_holds_the_lock(storage_url: str) -> None:
    with BudgetLedger(storage_url, "locked") as ledger:
        ledger.set_budget(5.0)
        locked, release, reserved = threading.Event(), threading.Event(), threading.Event()
        holder = threading.Thread(target=_hold_the_study_lock, args=(storage_url, locked, release))
        holder.start()
        assert locked.wait(10)
        reserver = threading.Thread(target=lambda: ledger.reserve("t0", 1.0) and reserved.set())
        reserver.start()
        try:
            assert not reserved.wait(0.5), (
                "reserve() went ahead while another transaction held the lock"
            )
        finally:
            release.set()
            holder.join(10)
        reserver.join(30)
        assert reserved.is_set()
        assert ledger.summary().reserved_eur == 1.0
