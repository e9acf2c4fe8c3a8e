"""How a reservation's price becomes the catalog's effective hourly rate.

Both AWS and Azure quote reservations as fees for the whole term (AWS: an upfront fee plus an
hourly fee; Azure: one total). The catalog stores one comparable number per term:
effective USD (or EUR) per instance-hour = hourly fee + term fees / (8760 h × years).
"""

from __future__ import annotations

from cost_models._hours import HOURS_PER_YEAR

# Digits kept for rates derived by division, so refreshed files do not carry float noise.
_DERIVED_RATE_DECIMALS = 6


def effective_hourly_rate(*, hourly_fee: float, term_fee: float, years: int) -> float:
    """Per-hour price of a ``years``-long reservation: ``hourly_fee + term_fee / (8760 × years)``.

    Both fees are in the same currency; the result is in that currency per instance-hour.
    """
    if years <= 0:
        raise ValueError(f"`years > 0` must hold, but got {years=}.")
    return round(hourly_fee + term_fee / (HOURS_PER_YEAR * years), _DERIVED_RATE_DECIMALS)
