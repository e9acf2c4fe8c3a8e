"""The study's budget in euros, shared by every worker through the study's own database.

Before a trial starts, its estimated cost is reserved (``BudgetLedger.reserve``); when the remaining
budget cannot cover it, the trial does not start. After the trial, its measured cost replaces the
reservation (``settle``). Spend can pass the budget only by the estimate errors of the trials that
were in flight at the last admission (see ``_balance``).
"""

from sweeper.budget._amounts import MAX_AMOUNT_EUR, MICRO_EUR_PER_EUR, to_eur, to_micro_eur
from sweeper.budget._balance import Balance, overrun_bound_micro_eur
from sweeper.budget._errors import (
    BudgetChangeError,
    BudgetError,
    BudgetNotSetError,
    InvalidAmountError,
    InvalidKeyError,
    LedgerStorageError,
    OverBudgetError,
    ReservationStateError,
    UnknownReservationError,
    UnsupportedStorageError,
)
from sweeper.budget._ledger import BudgetLedger, default_worker_id
from sweeper.budget._records import EntryState, LedgerEntry, LedgerSummary, Reservation

__all__ = [
    "MAX_AMOUNT_EUR",
    "MICRO_EUR_PER_EUR",
    "Balance",
    "BudgetChangeError",
    "BudgetError",
    "BudgetLedger",
    "BudgetNotSetError",
    "EntryState",
    "InvalidAmountError",
    "InvalidKeyError",
    "LedgerEntry",
    "LedgerStorageError",
    "LedgerSummary",
    "OverBudgetError",
    "Reservation",
    "ReservationStateError",
    "UnknownReservationError",
    "UnsupportedStorageError",
    "default_worker_id",
    "overrun_bound_micro_eur",
    "to_eur",
    "to_micro_eur",
]
