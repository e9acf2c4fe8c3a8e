"""How many hours a year and a month are billed for: the one place these constants live."""

from __future__ import annotations

HOURS_PER_YEAR = 8760
"""365 × 24: the hours a one-year term is billed for (leap days are not billed extra)."""

HOURS_PER_MONTH = HOURS_PER_YEAR / 12
"""730.0: an instance running around the clock for one month (a twelfth of a billed year)."""
