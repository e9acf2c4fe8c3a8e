"""The ledger's rules, one worker at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sweeper.budget import (
    BudgetChangeError,
    BudgetLedger,
    BudgetNotSetError,
    InvalidAmountError,
    InvalidKeyError,
    ReservationStateError,
    UnknownReservationError,
    UnsupportedStorageError,
)
from sweeper.errors import SweeperError


@pytest.fixture
def ledger(storage_url: str):
    with BudgetLedger(storage_url, "study-a", worker_id="test") as ledger:
        ledger.set_budget(10.0)
        yield ledger


def test_a_reservation_is_admitted_while_the_budget_covers_it(ledger: BudgetLedger) -> None:
    first = ledger.reserve("t0", 4.0)
    assert first is not None and first.estimate_eur == 4.0 and first.worker_id == "test"
    assert ledger.reserve("t1", 6.0) is not None  # exactly what remains
    assert ledger.reserve("t2", 0.01) is None
    summary = ledger.summary()
    assert (summary.budget_eur, summary.spent_eur, summary.reserved_eur, summary.remaining_eur) == (
        10.0,
        0.0,
        10.0,
        0.0,
    )
    assert summary.entries_by_state == {"reserved": 2, "settled": 0, "released": 0}


def test_a_refused_reservation_leaves_no_entry(ledger: BudgetLedger) -> None:
    assert ledger.reserve("big", 10.5) is None
    with pytest.raises(UnknownReservationError, match="'big'"):
        ledger.entry("big")
    assert ledger.reserve("big", 9.5) is not None  # the key is free to reserve later


def test_settling_replaces_the_reservation_by_the_measured_cost(ledger: BudgetLedger) -> None:
    ledger.reserve("t0", 4.0)
    ledger.reserve("t1", 5.0)
    entry = ledger.settle("t0", 2.5)
    assert (entry.state, entry.actual_eur, entry.closed_by) == ("settled", 2.5, "settle")
    summary = ledger.summary()
    assert (summary.spent_eur, summary.reserved_eur, summary.remaining_eur) == (2.5, 5.0, 2.5)
    assert ledger.reserve("t2", 2.5) is not None


def test_an_overrun_is_booked_and_blocks_new_trials(ledger: BudgetLedger) -> None:
    ledger.reserve("t0", 8.0)
    ledger.settle("t0", 11.0)
    summary = ledger.summary()
    assert (summary.spent_eur, summary.remaining_eur) == (11.0, -1.0)
    assert ledger.reserve("t1", 0.000001) is None


def test_a_pruned_trial_settles_what_it_spent(ledger: BudgetLedger) -> None:
    ledger.reserve("pruned", 6.0)
    ledger.settle("pruned", 0.75)
    assert ledger.summary().spent_eur == 0.75


def test_release_books_nothing_and_is_idempotent(ledger: BudgetLedger) -> None:
    ledger.reserve("t0", 9.0)
    released = ledger.release("t0")
    assert (released.state, released.actual_eur, released.closed_by) == (
        "released",
        None,
        "release",
    )
    assert ledger.release("t0") == released
    summary = ledger.summary()
    assert (summary.spent_eur, summary.reserved_eur, summary.remaining_eur) == (0.0, 0.0, 10.0)


def test_settling_again_with_the_same_cost_is_a_no_op(ledger: BudgetLedger) -> None:
    ledger.reserve("t0", 4.0)
    assert ledger.settle("t0", 3.0) == ledger.settle("t0", 3.0)
    assert ledger.summary().spent_eur == 3.0


def test_a_trial_is_settled_once(ledger: BudgetLedger) -> None:
    ledger.reserve("t0", 4.0)
    ledger.settle("t0", 3.0)
    with pytest.raises(
        ReservationStateError, match=r"settled once.*actual_eur=3\.0.*actual_eur=3\.5"
    ):
        ledger.settle("t0", 3.5)
    with pytest.raises(ReservationStateError, match="only a reserved trial can be released"):
        ledger.release("t0")


def test_a_released_trial_cannot_be_settled(ledger: BudgetLedger) -> None:
    ledger.reserve("t0", 4.0)
    ledger.release("t0")
    with pytest.raises(ReservationStateError, match="was released"):
        ledger.settle("t0", 1.0)


def test_settling_or_releasing_an_unknown_key_names_it(ledger: BudgetLedger) -> None:
    ledger.reserve("t0", 1.0)
    with pytest.raises(UnknownReservationError, match=r"'nope'.*1 open reservations"):
        ledger.settle("nope", 1.0)
    with pytest.raises(UnknownReservationError, match="'nope'"):
        ledger.release("nope")


def test_reserving_a_key_again_returns_the_same_reservation(ledger: BudgetLedger) -> None:
    first = ledger.reserve(7, 4.0)
    assert ledger.reserve("7", 4.0) == first
    assert ledger.summary().reserved_eur == 4.0
    with pytest.raises(
        ReservationStateError, match=r"reserves once.*estimate_eur=4\.0.*estimate_eur=5\.0"
    ):
        ledger.reserve(7, 5.0)


def test_set_budget_is_idempotent_and_a_change_is_explicit(ledger: BudgetLedger) -> None:
    ledger.set_budget(10.0)
    with pytest.raises(
        BudgetChangeError, match=r"change_budget.*budget_eur=10\.0.*budget_eur=12\.0"
    ):
        ledger.set_budget(12.0)
    assert ledger.change_budget(12.0) == 10.0
    assert ledger.summary().budget_eur == 12.0
    ledger.set_budget(12.0)


def test_studies_in_one_database_have_separate_budgets(
    ledger: BudgetLedger, storage_url: str
) -> None:
    ledger.reserve("t0", 10.0)
    with BudgetLedger(storage_url, "study-b") as other:
        other.set_budget(1.0)
        assert other.reserve("t0", 1.0) is not None
        assert other.summary().reserved_eur == 1.0
    assert ledger.summary().reserved_eur == 10.0


def test_a_study_without_a_budget_refuses_to_reserve(storage_url: str) -> None:
    with BudgetLedger(storage_url, "no-budget") as ledger:
        with pytest.raises(BudgetNotSetError, match="'no-budget'.*set_budget"):
            ledger.reserve("t0", 1.0)


@pytest.mark.parametrize(
    ("estimate_eur", "rule"), [(0, "at least 1e-6"), (-1.0, "> 0"), (float("nan"), "> 0")]
)
def test_bad_estimates_are_errors_the_cli_reports(
    ledger: BudgetLedger, estimate_eur: float, rule: str
) -> None:
    with pytest.raises(InvalidAmountError, match=rule) as info:
        ledger.reserve("t0", estimate_eur)
    assert isinstance(info.value, SweeperError)


@pytest.mark.parametrize("key", ["", "k" * 256, 1.5, None])
def test_bad_keys_are_refused(ledger: BudgetLedger, key: object) -> None:
    with pytest.raises(InvalidKeyError):
        ledger.reserve(key, 1.0)  # type: ignore[arg-type]


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def test_stale_reservations_are_charged_in_full_and_a_late_settle_corrects_them(
    storage_url: str,
) -> None:
    clock = _Clock()
    with BudgetLedger(storage_url, "study-a", worker_id="dead", clock=clock) as ledger:
        ledger.set_budget(10.0)
        ledger.reserve("old", 3.0)
        clock.now += timedelta(hours=2)
        ledger.reserve("young", 2.0)
        clock.now += timedelta(minutes=5)

        charged = ledger.settle_stale(older_than_s=3600)

        assert [(e.key, e.state, e.actual_eur, e.closed_by) for e in charged] == [
            ("old", "settled", 3.0, "stale")
        ]
        assert ledger.entry("young").state == "reserved"
        summary = ledger.summary()
        assert (summary.spent_eur, summary.reserved_eur) == (3.0, 2.0)
        # The worker was only slow: its measured cost replaces the full charge.
        assert ledger.settle("old", 1.25).closed_by == "settle"
        assert ledger.summary().spent_eur == 1.25


def test_the_ledger_lives_beside_the_optuna_study(storage_url: str) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="shared", storage=storage_url)
    with BudgetLedger(storage_url, "shared") as ledger:
        ledger.set_budget(5.0)
        trial = study.ask()
        assert ledger.reserve(trial.number, 2.0) is not None
        study.tell(trial, 1.0)
        ledger.settle(trial.number, 1.5)
        assert ledger.summary().spent_eur == 1.5
    assert len(optuna.load_study(study_name="shared", storage=storage_url).trials) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql+pymysql://u:secret@db/x", r"sqlite, postgresql.*'mysql'.*\*\*\*"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("not a url", "SQLAlchemy database URL"),
    ],
)
def test_storages_that_cannot_lock_across_workers_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsupportedStorageError, match=message) as info:
        BudgetLedger(url, "s")
    assert "secret" not in str(info.value)
