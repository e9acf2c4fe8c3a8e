"""Where a study's budget stands before a run: the budget it will be held to and what is booked.

The budget is the study file's ``budget_eur``, else the one an earlier run stored in the ledger.
Before the ledger exists, the study's recorded spend (``sweeper.trial_record.spent_eur``) counts:
it is booked when the run starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna

from sweeper.budget._errors import BudgetNotSetError
from sweeper.budget._ledger import BudgetLedger
from sweeper.trial_record import spent_eur

if TYPE_CHECKING:  # typing only: the study schema imports this package (MAX_AMOUNT_EUR)
    from sweeper.study import LoadedStudy


@dataclass(frozen=True)
class BudgetPosition:
    """The budget a run will be held to (EUR), and what is already booked against it."""

    budget_eur: float
    spent_eur: float
    reserved_eur: float
    #: Whether the budget comes from the study file (else: stored in the ledger by an earlier run).
    declared: bool

    @property
    def remaining_eur(self) -> float:
        return self.budget_eur - self.spent_eur - self.reserved_eur


def budget_position(
    loaded: LoadedStudy, storage_url: str, study: optuna.Study | None
) -> BudgetPosition | None:
    """The file's budget (else the stored one) and the spend booked so far; ``None``: no budget.

    Before the ledger exists, the study's recorded spend counts: it is booked when the run starts.
    """
    stored = None
    spent_so_far = reserved = 0.0
    if study is not None:
        with BudgetLedger(storage_url, loaded.name) as ledger:
            try:
                stored = ledger.summary()
            except BudgetNotSetError:
                spent_so_far = spent_eur(study)
    if stored is not None:
        spent_so_far, reserved = stored.spent_eur, stored.reserved_eur
    declared = loaded.spec.budget_eur
    budget = declared if declared is not None else (stored.budget_eur if stored else None)
    if budget is None:
        return None
    return BudgetPosition(budget, spent_so_far, reserved, declared is not None)
