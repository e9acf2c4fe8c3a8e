"""Costs spent without a reservation (before the study had a budget) are booked, never refused."""

from __future__ import annotations

import pytest

from sweeper.budget import BudgetLedger, ReservationStateError


def test_recorded_spend_is_booked_even_past_the_budget_and_once_per_key(storage_url: str) -> None:
    with BudgetLedger(storage_url, "study-a", worker_id="test") as ledger:
        ledger.set_budget(1.0)
        entry = ledger.record_spent("trial-0", 1.5)
        assert (entry.state, entry.actual_eur, entry.estimate_eur, entry.closed_by) == (
            "settled",
            1.5,
            1.5,
            "record",
        )
        assert ledger.record_spent("trial-0", 1.5) == entry  # a repeat is a no-op
        with pytest.raises(ReservationStateError, match="recorded once per key"):
            ledger.record_spent("trial-0", 2.0)
        with pytest.raises(ReservationStateError, match="settled once"):
            ledger.settle("trial-0", 0.5)
        summary = ledger.summary()
        assert (summary.spent_eur, summary.reserved_eur, summary.remaining_eur) == (1.5, 0.0, -0.5)
        assert ledger.reserve("trial-1", 0.01) is None  # overspent: nothing more starts
        ledger.change_budget(3.0)
        assert ledger.reserve("trial-1", 1.0) is not None
        with pytest.raises(ReservationStateError, match="recorded once per key"):
            ledger.record_spent("trial-1", 1.0)
