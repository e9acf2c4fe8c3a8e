"""Errors of the budget ledger: each one states the rule, then the values that broke it."""

from __future__ import annotations

from sweeper.errors import SweeperError


class BudgetError(SweeperError):
    """Root of the budget ledger's errors."""


class BudgetNotSetError(BudgetError):
    """The study has no budget in the ledger yet; ``set_budget`` must come first."""


class BudgetChangeError(BudgetError):
    """``set_budget`` met a different budget already stored; changing it must be explicit."""


class InvalidAmountError(BudgetError):
    """An amount of euros the ledger cannot book (negative, NaN, zero where it must be positive)."""


class ReservationStateError(BudgetError):
    """An operation that does not fit the entry's state (settling a released trial, and so on)."""


class UnknownReservationError(BudgetError):
    """No entry in the ledger has this key."""


class UnsupportedStorageError(BudgetError):
    """A storage URL whose database cannot lock the ledger across processes and machines."""


class InvalidKeyError(BudgetError):
    """A trial key the ledger cannot store (empty, too long, not a string or an int)."""


class LedgerStorageError(BudgetError):
    """The database holding the ledger cannot be reached, or a lock could not be had in time."""


class OverBudgetError(BudgetError):
    """The quote of the trials to run exceeds what remains of the study's budget."""
