"""Amounts the ledger books stay inside its 64-bit micro-euro columns."""

from __future__ import annotations

import pytest

from sweeper.budget import MAX_AMOUNT_EUR, BudgetLedger, InvalidAmountError, to_micro_eur


def test_the_largest_amount_fits_a_64_bit_integer_with_room_for_sums() -> None:
    assert to_micro_eur(MAX_AMOUNT_EUR, name="budget_eur", allow_zero=False) * 9 < 2**63


@pytest.mark.parametrize("amount_eur", [9.2e12, 9.3e12, 1e300])
def test_an_amount_over_the_cap_is_refused(amount_eur: float) -> None:
    with pytest.raises(InvalidAmountError, match=r"`budget_eur <= 1e\+12` EUR must hold"):
        to_micro_eur(amount_eur, name="budget_eur", allow_zero=True)


def test_a_huge_budget_is_refused_before_the_database_overflows(storage_url: str) -> None:
    with BudgetLedger(storage_url, "huge") as ledger:
        with pytest.raises(InvalidAmountError):
            ledger.set_budget(9.3e12)
        ledger.set_budget(MAX_AMOUNT_EUR)
        assert ledger.reserve(1, MAX_AMOUNT_EUR) is not None
        ledger.settle(1, MAX_AMOUNT_EUR)
        summary = ledger.summary()
        assert summary.budget_eur == summary.spent_eur == MAX_AMOUNT_EUR
