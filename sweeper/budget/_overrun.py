"""A trial's spending limit: a trial that costs ``factor`` times what it reserved is stopped.

A reservation is the P90 of the quote's per-trial cost, so a trial rarely costs more; one that
costs twice as much (the default factor) is a runaway -- a hung evaluation, a far slower machine
-- and every euro it spends beyond its reservation is taken from trials that reserved theirs.
The running trial's limit is held in a context variable (``spending_limit``); the recipe calls
``check_spending`` between its stages and after every training step, which raises
``TrialOverrunError``. The trial then fails with that reason and is charged what it spent.
Cost so far is the trial's wall time at the trial hardware's EUR per hour, as for any trial.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sweeper.budget._errors import BudgetError

#: A trial is stopped once it has spent this many times its reservation (study file:
#: ``budget_overrun_factor``).
DEFAULT_OVERRUN_FACTOR = 2.0
BUDGET_OVERRUN = "budget overrun"


class TrialOverrunError(BudgetError):
    """The running trial spent more than its limit; it is stopped and charged what it spent."""


@dataclass(frozen=True)
class SpendingLimit:
    """What the running trial may spend: ``factor`` x ``reserved_eur``, at ``eur_per_hour``."""

    trial_number: int
    reserved_eur: float
    factor: float
    eur_per_hour: float
    started: float = field(default_factory=time.perf_counter)

    @property
    def limit_eur(self) -> float:
        return self.factor * self.reserved_eur

    def spent_eur(self) -> float:
        return elapsed_cost_eur(self.started, self.eur_per_hour)

    def check(self) -> None:
        spent_eur = self.spent_eur()
        if spent_eur > self.limit_eur:
            raise TrialOverrunError(
                f"{BUDGET_OVERRUN}: trial {self.trial_number} spent €{spent_eur:.4f}, more than "
                f"{self.factor:g} x its reservation €{self.reserved_eur:.4f} (P90 estimate); "
                "stopped and charged what it spent"
            )


def elapsed_cost_eur(started: float, eur_per_hour: float) -> float:
    """EUR of the wall time since ``started`` (a ``time.perf_counter()`` reading) at
    ``eur_per_hour``: what a trial that recorded no cost of its own is charged."""
    return (time.perf_counter() - started) / 3600.0 * eur_per_hour


_active: ContextVar[SpendingLimit | None] = ContextVar("sweeper_spending_limit", default=None)


@contextmanager
def spending_limit(limit: SpendingLimit) -> Iterator[SpendingLimit]:
    """Hold ``limit`` as the running trial's while the block runs."""
    token = _active.set(limit)
    try:
        yield limit
    finally:
        _active.reset(token)


def check_spending() -> None:
    """Raise ``TrialOverrunError`` if the running trial overran its limit (no-op outside a
    budgeted trial)."""
    limit = _active.get()
    if limit is not None:
        limit.check()
