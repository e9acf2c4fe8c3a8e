"""What the ledger hands back: reservations, entries and summaries, as plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sweeper.budget._amounts import to_eur

#: An entry is ``reserved`` while its trial may be running, then ``settled`` (its measured cost is
#: booked) or ``released`` (the trial never started; nothing is booked).
EntryState = Literal["reserved", "settled", "released"]
ENTRY_STATES: tuple[EntryState, ...] = ("reserved", "settled", "released")

#: Who closed an entry: its worker settling or releasing it, ``settle_stale`` recovering it, or
#: ``record_spent`` booking a cost that had no reservation.
ClosedBy = Literal["settle", "release", "stale", "record"]


@dataclass(frozen=True)
class Reservation:
    """Money held for one trial that was admitted to start."""

    study_name: str
    key: str
    estimate_micro_eur: int
    worker_id: str
    #: Position of the reservation in the study's ledger history (1, 2, 3, ... across all workers).
    seq: int
    reserved_at: datetime

    @property
    def estimate_eur(self) -> float:
        return to_eur(self.estimate_micro_eur)


@dataclass(frozen=True)
class LedgerEntry:
    """One trial's line in the ledger, in whichever state it is."""

    study_name: str
    key: str
    state: EntryState
    estimate_micro_eur: int
    actual_micro_eur: int | None
    worker_id: str
    reserved_seq: int
    closed_seq: int | None
    reserved_at: datetime
    closed_at: datetime | None
    closed_by: ClosedBy | None

    @property
    def estimate_eur(self) -> float:
        return to_eur(self.estimate_micro_eur)

    @property
    def actual_eur(self) -> float | None:
        return None if self.actual_micro_eur is None else to_eur(self.actual_micro_eur)


@dataclass(frozen=True)
class LedgerSummary:
    """A study's budget and what is booked against it, read in one transaction."""

    study_name: str
    budget_eur: float
    #: Measured costs of settled trials.
    spent_eur: float
    #: Estimates held by trials that have not settled yet.
    reserved_eur: float
    #: ``budget_eur - spent_eur - reserved_eur``; negative once trials overran their estimates.
    remaining_eur: float
    entries_by_state: dict[EntryState, int] = field(default_factory=dict)
