"""The balance of a budget: what is left, and whether the next trial's estimate fits (pure).

Every amount is in whole micro-euros (see ``_amounts``). The ledger loads a ``Balance`` under its
lock, asks it, and writes the answer back; the property tests drive it directly.

Why spend can pass the budget, and by how much: a reservation is admitted only while
``spent + reserved + estimate <= budget``. Settling replaces a trial's estimate by its measured
cost, which moves ``spent + reserved`` by ``actual - estimate``. So after the last admission the
total can only grow by the estimate errors of the trials then in flight:
``final spent <= budget + sum(max(0, actual - estimate))`` over those trials.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Balance:
    """A study's budget and what is booked against it, in micro-euros."""

    budget_micro_eur: int
    spent_micro_eur: int = 0
    reserved_micro_eur: int = 0

    @property
    def remaining_micro_eur(self) -> int:
        """Budget minus settled costs minus open reservations; negative once trials overran it."""
        return self.budget_micro_eur - self.spent_micro_eur - self.reserved_micro_eur

    def admits(self, estimate_micro_eur: int) -> bool:
        """Whether a trial estimated at ``estimate_micro_eur`` may start now."""
        return estimate_micro_eur <= self.remaining_micro_eur

    def reserve(self, estimate_micro_eur: int) -> Balance:
        """The balance after admitting a reservation (the caller checked ``admits``)."""
        return replace(self, reserved_micro_eur=self.reserved_micro_eur + estimate_micro_eur)

    def settle(self, estimate_micro_eur: int, actual_micro_eur: int) -> Balance:
        """The balance after an open reservation is replaced by its measured cost."""
        return replace(
            self,
            reserved_micro_eur=self.reserved_micro_eur - estimate_micro_eur,
            spent_micro_eur=self.spent_micro_eur + actual_micro_eur,
        )

    def release(self, estimate_micro_eur: int) -> Balance:
        """The balance after an open reservation is dropped (its trial never started)."""
        return replace(self, reserved_micro_eur=self.reserved_micro_eur - estimate_micro_eur)


def overrun_bound_micro_eur(in_flight: list[tuple[int, int]]) -> int:
    """How far spend may pass the budget: the sum of ``max(0, actual - estimate)`` over the
    ``(estimate_micro_eur, actual_micro_eur)`` pairs of the trials in flight at the last admission.
    """
    return sum(max(0, actual - estimate) for estimate, actual in in_flight)
