"""The budget ledger: reservations and measured costs of a study's trials, shared by every worker.

Each public operation is one database transaction that first locks the study's ledger row (see
``_engine``), so workers on several machines see one consistent balance and admit trials one at a
time. Totals are always summed from the entries under that lock, never cached, so an entry can be
neither lost nor counted twice.

Recovery policy for a killed worker: its reservation stays open (money may have been spent) until
``settle_stale`` charges it in full, at its estimate. If the worker was only slow and settles later,
its measured cost replaces that charge. ``settle(key, actual_eur)`` also reconciles any open
reservation by key, e.g. from a cost the trial recorded in the Optuna storage before it died.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from sweeper.budget._amounts import to_eur, to_micro_eur
from sweeper.budget._balance import Balance
from sweeper.budget._engine import ledger_engine, release_ledger_engine
from sweeper.budget._errors import (
    BudgetChangeError,
    BudgetNotSetError,
    InvalidKeyError,
    LedgerStorageError,
    ReservationStateError,
    UnknownReservationError,
)
from sweeper.budget._records import ENTRY_STATES, LedgerEntry, LedgerSummary, Reservation
from sweeper.budget._tables import create_tables, entries, ledgers
from sweeper.redaction import redact_url

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def default_worker_id() -> str:
    """``host:pid``: enough to tell which worker holds a reservation."""
    return f"{socket.gethostname()}:{os.getpid()}"


class BudgetLedger:
    """A study's budget in euros, and the reservations and costs of its trials.

    ``storage_url`` is the Optuna RDB storage URL (an SQLite file or ``postgresql+psycopg2://``);
    the ledger keeps its own tables in that database. Amounts are euros, kept to the micro-euro.
    """

    def __init__(
        self,
        storage_url: str,
        study_name: str,
        *,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.study_name = study_name
        self.worker_id = worker_id or default_worker_id()
        self._clock = clock
        self._where = redact_url(storage_url)
        self._engine = ledger_engine(storage_url)  # shared by the process's ledgers on this URL
        with self._storage_errors():
            create_tables(self._engine)

    def close(self) -> None:
        """Release the engine (a database server's is the process's, kept for its next ledger:
        ``_engine.ledger_engine``)."""
        release_ledger_engine(self._engine)

    def __enter__(self) -> BudgetLedger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the budget ------------------------------------------------------------------------------

    def set_budget(self, budget_eur: float) -> None:
        """Declare the study's budget (EUR). Repeating the same budget is a no-op, so every worker
        may call it on start; a different one raises ``BudgetChangeError`` (see ``change_budget``).
        """
        budget_micro_eur = to_micro_eur(budget_eur, name="budget_eur", allow_zero=True)
        with self._transaction() as conn:
            self._insert_ledger_if_missing(conn, budget_micro_eur)
            ledger = self._lock(conn)
            if ledger.budget_micro_eur != budget_micro_eur:
                raise BudgetChangeError(
                    f"a study's budget changes only through `change_budget`, but study "
                    f"{self.study_name!r} has budget_eur={to_eur(ledger.budget_micro_eur)} and "
                    f"set_budget got budget_eur={budget_eur}."
                )

    def change_budget(self, budget_eur: float) -> float:
        """Replace the study's budget (EUR); returns the previous one. Open reservations stay."""
        budget_micro_eur = to_micro_eur(budget_eur, name="budget_eur", allow_zero=True)
        with self._transaction() as conn:
            ledger = self._lock(conn)
            self._next_seq(conn, budget_micro_eur=budget_micro_eur)
        log.info(
            "budget of study %r changed from %.6f to %.6f EUR",
            self.study_name,
            to_eur(ledger.budget_micro_eur),
            budget_eur,
        )
        return to_eur(ledger.budget_micro_eur)

    # -- a trial's life --------------------------------------------------------------------------

    def reserve(self, key: str | int, estimate_eur: float) -> Reservation | None:
        """Hold ``estimate_eur`` (EUR, > 0) for the trial ``key`` if the remaining budget covers it.

        Returns ``None`` when it does not: the trial must not start. Calling it again for a key
        that is still reserved at the same estimate returns that reservation (a safe retry).
        """
        key = _checked_key(key)
        estimate_micro_eur = to_micro_eur(estimate_eur, name="estimate_eur", allow_zero=False)
        with self._transaction() as conn:
            ledger = self._lock(conn)
            existing = self._entry_row(conn, key)
            if existing is not None:
                return self._repeated_reservation(existing, estimate_micro_eur)
            balance = self._balance(conn, ledger.budget_micro_eur)
            if not balance.admits(estimate_micro_eur):
                log.info(
                    "budget of study %r refuses trial %r: estimate %.6f EUR > remaining %.6f EUR",
                    self.study_name,
                    key,
                    estimate_eur,
                    to_eur(balance.remaining_micro_eur),
                )
                return None
            seq = self._next_seq(conn)
            now = self._now()
            conn.execute(
                entries.insert().values(
                    study_name=self.study_name,
                    key=key,
                    state="reserved",
                    estimate_micro_eur=estimate_micro_eur,
                    worker_id=self.worker_id,
                    reserved_seq=seq,
                    reserved_at=now,
                )
            )
        return Reservation(self.study_name, key, estimate_micro_eur, self.worker_id, seq, now)

    def settle(self, key: str | int, actual_eur: float) -> LedgerEntry:
        """Book the trial's measured cost (EUR, >= 0) in place of its reservation.

        A pruned or failed trial settles what it spent. Settling again with the same cost is a
        no-op; a trial charged by ``settle_stale`` takes the measured cost instead.
        """
        key = _checked_key(key)
        actual_micro_eur = to_micro_eur(actual_eur, name="actual_eur", allow_zero=True)
        with self._transaction() as conn:
            self._lock(conn)
            row = self._existing_entry_row(conn, key, operation="settle")
            if row.state == "settled" and row.closed_by in ("settle", "record"):
                if row.actual_micro_eur == actual_micro_eur:
                    return _entry(row)
                raise ReservationStateError(
                    f"a trial is settled once, but trial {key!r} of study {self.study_name!r} is "
                    f"already settled at actual_eur={to_eur(row.actual_micro_eur)} and settle got "
                    f"actual_eur={actual_eur}."
                )
            if row.state == "released":
                raise ReservationStateError(
                    f"only a reserved trial can be settled, but trial {key!r} of study "
                    f"{self.study_name!r} was released (it never started); actual_eur={actual_eur}."
                )
            return self._close(conn, key, "settled", actual_micro_eur, closed_by="settle")

    def release(self, key: str | int) -> LedgerEntry:
        """Drop the reservation of a trial that never started; nothing is booked. Idempotent."""
        key = _checked_key(key)
        with self._transaction() as conn:
            self._lock(conn)
            row = self._existing_entry_row(conn, key, operation="release")
            if row.state == "released":
                return _entry(row)
            if row.state == "settled":
                raise ReservationStateError(
                    f"only a reserved trial can be released, but trial {key!r} of study "
                    f"{self.study_name!r} is settled at actual_eur={to_eur(row.actual_micro_eur)}."
                )
            return self._close(conn, key, "released", None, closed_by="release")

    def record_spent(self, key: str | int, actual_eur: float) -> LedgerEntry:
        """Book a cost (EUR, >= 0) that was spent without a reservation, e.g. by trials that ran
        before the study declared a budget. Never refused: the money is gone. Booking the same key
        again at the same cost is a no-op; any other entry under the key is an error.
        """
        key = _checked_key(key)
        actual_micro_eur = to_micro_eur(actual_eur, name="actual_eur", allow_zero=True)
        with self._transaction() as conn:
            self._lock(conn)
            row = self._entry_row(conn, key)
            if row is not None:
                if row.closed_by == "record" and row.actual_micro_eur == actual_micro_eur:
                    return _entry(row)
                raise ReservationStateError(
                    f"a cost is recorded once per key, but trial {key!r} of study "
                    f"{self.study_name!r} already has a {row.state} entry (closed_by="
                    f"{row.closed_by!r}); record_spent got actual_eur={actual_eur}."
                )
            seq = self._next_seq(conn)
            now = self._now()
            conn.execute(
                entries.insert().values(
                    study_name=self.study_name,
                    key=key,
                    state="settled",
                    estimate_micro_eur=actual_micro_eur,
                    actual_micro_eur=actual_micro_eur,
                    worker_id=self.worker_id,
                    reserved_seq=seq,
                    reserved_at=now,
                    closed_seq=seq,
                    closed_at=now,
                    closed_by="record",
                )
            )
            row = self._entry_row(conn, key)
            assert row is not None
            return _entry(row)

    def settle_stale(self, older_than_s: float) -> list[LedgerEntry]:
        """Charge in full, at their estimates, the reservations open for more than ``older_than_s``
        seconds: their workers are presumed dead, and may have spent all of it.

        Pick ``older_than_s`` above the longest trial plus the storage's heartbeat grace period.
        Returns the entries it settled.
        """
        if not older_than_s >= 0:
            raise ValueError(
                f"`older_than_s >= 0` must hold, but got older_than_s={older_than_s!r}."
            )
        with self._transaction() as conn:
            self._lock(conn)
            cutoff = self._now() - timedelta(seconds=older_than_s)
            stale = conn.execute(
                select(entries.c.key, entries.c.estimate_micro_eur)
                .where(entries.c.study_name == self.study_name, entries.c.state == "reserved")
                .where(entries.c.reserved_at < cutoff)
                .order_by(entries.c.reserved_seq)
            ).all()
            settled = [
                self._close(conn, key, "settled", estimate_micro_eur, closed_by="stale")
                for key, estimate_micro_eur in stale
            ]
        for entry in settled:
            log.warning(
                "budget of study %r: charged stale reservation %r of worker %s in full (%.6f EUR)",
                self.study_name,
                entry.key,
                entry.worker_id,
                entry.estimate_eur,
            )
        return settled

    # -- reading ---------------------------------------------------------------------------------

    def summary(self) -> LedgerSummary:
        """Budget, spend, open reservations and what remains (EUR), read in one transaction."""
        with self._transaction() as conn:
            ledger = self._lock(conn)
            balance = self._balance(conn, ledger.budget_micro_eur)
            counts = dict.fromkeys(ENTRY_STATES, 0)
            for state, count in conn.execute(
                select(entries.c.state, func.count())
                .where(entries.c.study_name == self.study_name)
                .group_by(entries.c.state)
            ):
                counts[state] = count
        return LedgerSummary(
            study_name=self.study_name,
            budget_eur=to_eur(balance.budget_micro_eur),
            spent_eur=to_eur(balance.spent_micro_eur),
            reserved_eur=to_eur(balance.reserved_micro_eur),
            remaining_eur=to_eur(balance.remaining_micro_eur),
            entries_by_state=counts,
        )

    def entry(self, key: str | int) -> LedgerEntry:
        """The ledger line of trial ``key``; ``UnknownReservationError`` if there is none."""
        key = _checked_key(key)
        with self._transaction() as conn:
            self._lock(conn)
            return _entry(self._existing_entry_row(conn, key, operation="read"))

    def entries(self) -> list[LedgerEntry]:
        """Every line of the study's ledger, in the order the trials were reserved."""
        with self._transaction() as conn:
            self._lock(conn)
            rows = conn.execute(
                select(entries)
                .where(entries.c.study_name == self.study_name)
                .order_by(entries.c.reserved_seq)
            ).all()
        return [_entry(row) for row in rows]

    # -- inside a transaction --------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._storage_errors(), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            raise LedgerStorageError(
                f"the budget ledger of study {self.study_name!r} in {self._where!r} could not be "
                f"read or locked: {exc.orig}"
            ) from exc

    def _lock(self, conn: Connection) -> Row[Any]:
        """The study's ledger row, locked until the transaction ends."""
        ledger = conn.execute(
            select(ledgers).where(ledgers.c.study_name == self.study_name).with_for_update()
        ).one_or_none()
        if ledger is None:
            raise BudgetNotSetError(
                f"a study's budget must be set before trials reserve from it, but study "
                f"{self.study_name!r} has no budget in {self._where!r}; "
                f"call set_budget(budget_eur) first."
            )
        return ledger

    def _insert_ledger_if_missing(self, conn: Connection, budget_micro_eur: int) -> None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        now = self._now()
        conn.execute(
            dialect.insert(ledgers)
            .values(
                study_name=self.study_name,
                budget_micro_eur=budget_micro_eur,
                last_seq=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[ledgers.c.study_name])
        )

    def _next_seq(self, conn: Connection, **changes: Any) -> int:
        """Advance the study's change counter (we hold its lock) and return the new value."""
        where = ledgers.c.study_name == self.study_name
        conn.execute(
            update(ledgers)
            .where(where)
            .values(last_seq=ledgers.c.last_seq + 1, updated_at=self._now(), **changes)
        )
        return int(conn.execute(select(ledgers.c.last_seq).where(where)).scalar_one())

    def _now(self) -> datetime:
        """The clock's time in UTC (SQLite keeps no time zone, so every stored time is UTC)."""
        return self._clock().astimezone(timezone.utc)

    def _balance(self, conn: Connection, budget_micro_eur: int) -> Balance:
        """Settled costs and open reservations, summed from the entries in one statement."""
        totals = {
            state: (estimates or 0, actuals or 0)
            for state, estimates, actuals in conn.execute(
                select(
                    entries.c.state,
                    func.sum(entries.c.estimate_micro_eur),
                    func.sum(entries.c.actual_micro_eur),
                )
                .where(entries.c.study_name == self.study_name)
                .where(entries.c.state.in_(("reserved", "settled")))
                .group_by(entries.c.state)
            )
        }
        return Balance(
            budget_micro_eur=budget_micro_eur,
            spent_micro_eur=int(totals.get("settled", (0, 0))[1]),
            reserved_micro_eur=int(totals.get("reserved", (0, 0))[0]),
        )

    def _entry_row(self, conn: Connection, key: str) -> Row[Any] | None:
        return conn.execute(
            select(entries).where(entries.c.study_name == self.study_name, entries.c.key == key)
        ).one_or_none()

    def _existing_entry_row(self, conn: Connection, key: str, *, operation: str) -> Row[Any]:
        row = self._entry_row(conn, key)
        if row is None:
            open_count = conn.execute(
                select(func.count())
                .select_from(entries)
                .where(entries.c.study_name == self.study_name, entries.c.state == "reserved")
            ).scalar_one()
            raise UnknownReservationError(
                f"{operation} needs a trial that reserved from the budget, but study "
                f"{self.study_name!r} has no entry with key {key!r} "
                f"({open_count} open reservations)."
            )
        return row

    def _repeated_reservation(self, row: Row[Any], estimate_micro_eur: int) -> Reservation:
        if row.state == "reserved" and row.estimate_micro_eur == estimate_micro_eur:
            return Reservation(
                self.study_name,
                row.key,
                row.estimate_micro_eur,
                row.worker_id,
                row.reserved_seq,
                _aware(row.reserved_at),
            )
        raise ReservationStateError(
            f"a trial key reserves once, but trial {row.key!r} of study {self.study_name!r} is "
            f"already {row.state} with estimate_eur={to_eur(row.estimate_micro_eur)}; reserve got "
            f"estimate_eur={to_eur(estimate_micro_eur)}."
        )

    def _close(
        self,
        conn: Connection,
        key: str,
        state: str,
        actual_micro_eur: int | None,
        *,
        closed_by: str,
    ) -> LedgerEntry:
        seq = self._next_seq(conn)
        conn.execute(
            update(entries)
            .where(entries.c.study_name == self.study_name, entries.c.key == key)
            .values(
                state=state,
                actual_micro_eur=actual_micro_eur,
                closed_seq=seq,
                closed_at=self._now(),
                closed_by=closed_by,
            )
        )
        row = self._entry_row(conn, key)
        assert row is not None
        return _entry(row)


def _checked_key(key: str | int) -> str:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise InvalidKeyError(f"a trial key must be a str or an int, but got {key!r}.")
    text = str(key)
    if not 0 < len(text) <= MAX_KEY_LENGTH:
        raise InvalidKeyError(
            f"a trial key must have 1 to {MAX_KEY_LENGTH} characters, but got {len(text)}: "
            f"{text[:40]!r}."
        )
    return text


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; the ledger writes them in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _entry(row: Row[Any]) -> LedgerEntry:
    return LedgerEntry(
        study_name=row.study_name,
        key=row.key,
        state=row.state,
        estimate_micro_eur=row.estimate_micro_eur,
        actual_micro_eur=row.actual_micro_eur,
        worker_id=row.worker_id,
        reserved_seq=row.reserved_seq,
        closed_seq=row.closed_seq,
        reserved_at=_aware(row.reserved_at),
        closed_at=None if row.closed_at is None else _aware(row.closed_at),
        closed_by=row.closed_by,
    )
