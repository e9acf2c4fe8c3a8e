"""The study's budget in euros, shared by every worker through the study's own database.

Before a trial starts, its estimated cost is reserved (``BudgetLedger.reserve``); when the remaining
budget cannot cover it, the trial does not start. After the trial, its measured cost replaces the
reservation (``settle``). Spend can pass the budget only by the estimate errors of the trials that
were in flight at the last admission (see ``_balance``). A trial that spends more than a factor
of its reservation is stopped (``_overrun``). A worker's side of it -- reserve before each trial,
settle after -- is ``_guard``, given its ``_estimates`` by the runner; where the budget stands
before a run is ``_position``.
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
from sweeper.budget._estimates import Estimator, ReservationEstimates
from sweeper.budget._guard import (
    BASELINE_KEY_PREFIX,
    BUDGET_EXHAUSTED,
    PRIOR_BASELINE_KEY,
    REQUOTE_EVERY_UNTIL,
    REQUOTE_GROWTH,
    STALE_AFTER_P90_TRIALS,
    TRIAL_KEY_PREFIX,
    BudgetGuard,
    trial_key,
)
from sweeper.budget._ledger import BudgetLedger, default_worker_id
from sweeper.budget._overrun import (
    BUDGET_OVERRUN,
    DEFAULT_OVERRUN_FACTOR,
    SpendingLimit,
    TrialOverrunError,
    check_spending,
    elapsed_cost_eur,
    spending_limit,
)
from sweeper.budget._position import BudgetPosition, budget_position
from sweeper.budget._records import EntryState, LedgerEntry, LedgerSummary, Reservation

__all__ = [
    "BASELINE_KEY_PREFIX",
    "BUDGET_EXHAUSTED",
    "BUDGET_OVERRUN",
    "DEFAULT_OVERRUN_FACTOR",
    "MAX_AMOUNT_EUR",
    "MICRO_EUR_PER_EUR",
    "PRIOR_BASELINE_KEY",
    "REQUOTE_EVERY_UNTIL",
    "REQUOTE_GROWTH",
    "STALE_AFTER_P90_TRIALS",
    "TRIAL_KEY_PREFIX",
    "Balance",
    "BudgetChangeError",
    "BudgetError",
    "BudgetGuard",
    "BudgetLedger",
    "BudgetNotSetError",
    "BudgetPosition",
    "EntryState",
    "Estimator",
    "InvalidAmountError",
    "InvalidKeyError",
    "LedgerEntry",
    "LedgerStorageError",
    "LedgerSummary",
    "OverBudgetError",
    "Reservation",
    "ReservationEstimates",
    "ReservationStateError",
    "SpendingLimit",
    "TrialOverrunError",
    "UnknownReservationError",
    "UnsupportedStorageError",
    "budget_position",
    "check_spending",
    "default_worker_id",
    "elapsed_cost_eur",
    "overrun_bound_micro_eur",
    "spending_limit",
    "to_eur",
    "to_micro_eur",
    "trial_key",
]
