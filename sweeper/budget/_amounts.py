"""Euros as the ledger stores them: whole micro-euros, so that sums are exact on every database.

Floats summed in a different order give different last bits; a budget check that passes on one
worker and fails on another would break the guarantee. One micro-euro (1e-6 EUR) is far below any
GPU bill, so amounts are rounded to it once, on the way in, and all arithmetic after that is
integer.

The database columns are 64-bit integers (at most 9.22e18 micro-euros, 9.22e12 EUR). One amount
is at most ``MAX_AMOUNT_EUR`` (1e12 EUR), so a budget and the sums the ledger forms of a few such
amounts stay inside that range instead of overflowing in the database.
"""

from __future__ import annotations

import math

from sweeper.budget._errors import InvalidAmountError

MICRO_EUR_PER_EUR = 1_000_000
#: The largest amount the ledger books (EUR): 1e18 micro-euros, a ninth of a 64-bit integer.
MAX_AMOUNT_EUR = 1e12


def to_micro_eur(amount_eur: float, *, name: str, allow_zero: bool) -> int:
    """``amount_eur`` (EUR) rounded to whole micro-euros; rejects NaN, infinities and negatives."""
    rule = "finite and >= 0" if allow_zero else "finite and > 0"
    if not isinstance(amount_eur, (int, float)) or isinstance(amount_eur, bool):
        raise InvalidAmountError(
            f"`{name}` must be a number of euros ({rule}), but got {amount_eur!r}."
        )
    if not math.isfinite(amount_eur) or amount_eur < 0:
        raise InvalidAmountError(f"`{name}` must be {rule}, but got {name}={amount_eur!r} EUR.")
    if amount_eur > MAX_AMOUNT_EUR:
        raise InvalidAmountError(
            f"`{name} <= {MAX_AMOUNT_EUR:g}` EUR must hold (the ledger counts micro-euros in "
            f"64-bit integers), but got {name}={amount_eur!r} EUR."
        )
    micro_eur = round(amount_eur * MICRO_EUR_PER_EUR)
    if micro_eur == 0 and not allow_zero:
        raise InvalidAmountError(
            f"`{name}` must be at least 1e-6 EUR, but got {name}={amount_eur!r} EUR."
        )
    return micro_eur


def to_eur(amount_micro_eur: int) -> float:
    """Micro-euros back to euros (a float, for reports and the public API)."""
    return amount_micro_eur / MICRO_EUR_PER_EUR
