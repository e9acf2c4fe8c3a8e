"""ECB euro reference rates: fetch the daily XML, check it, keep it as a dated rates file.

The file is stored as the ECB's own XML (``<cache>/fx/eurofxref-daily-<date>.xml``) after the cost
model's own ECB parser has read it, so ``load_fx_rates(path)`` reads a refreshed file exactly as
it reads the bundled one. A rate is units of currency per 1 EUR (reference §6).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from cost_models import FxRates, load_fx_rates, parse_ecb_xml
from cost_models.errors import FxError
from cost_models.fetchers._errors import PriceFetchError
from cost_models.fetchers._http import http_get
from cost_models.fetchers._written_files import (
    WriteOutcome,
    dated_fx_path,
    refresh_target,
    write_refreshed_file,
)

ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
ECB_API_NAME = "ECB euro reference rates"
FX_FILE_STEM = "eurofxref-daily"


@dataclasses.dataclass(frozen=True)
class RateChange:
    """Units of ``currency`` per EUR before and after; None = not in that file."""

    currency: str
    old: float | None
    new: float | None

    @property
    def percent(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return (self.new - self.old) / self.old * 100.0

    def to_json(self) -> dict[str, Any]:
        percent = self.percent
        return {
            "currency": self.currency,
            "old_units_per_eur": self.old,
            "new_units_per_eur": self.new,
            "percent": None if percent is None else round(percent, 3),
        }


@dataclasses.dataclass(frozen=True)
class FxRefreshResult:
    path: Path
    outcome: WriteOutcome
    rates: FxRates
    compared_with: Path | None
    previous: FxRates | None
    changes: tuple[RateChange, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": "ecb",
            "path": str(self.path),
            "outcome": self.outcome.value,
            "rate_date": self.rates.date.isoformat(),
            "units_per_eur": dict(self.rates.units_per_eur),
            "compared_with": None if self.compared_with is None else str(self.compared_with),
            "previous_rate_date": None if self.previous is None else self.previous.date.isoformat(),
            "changes": [change.to_json() for change in self.changes],
        }


def bundled_fx_path() -> Path:
    """``cost_models/data/fx/eurofxref-daily.xml`` inside the installed package."""
    import cost_models

    return Path(cost_models.__file__).parent / "data" / "fx" / f"{FX_FILE_STEM}.xml"


def diff_rates(old: FxRates, new: FxRates) -> tuple[RateChange, ...]:
    """Currencies whose rate moved, appeared or disappeared, sorted by currency."""
    currencies = sorted(old.units_per_eur.keys() | new.units_per_eur.keys())
    return tuple(
        RateChange(currency, old.units_per_eur.get(currency), new.units_per_eur.get(currency))
        for currency in currencies
        if old.units_per_eur.get(currency) != new.units_per_eur.get(currency)
    )


def refresh_ecb_rates(
    *,
    url: str = ECB_DAILY_URL,
    out_path: Path | None = None,
    against: Path | None = None,
    force: bool = False,
    retry_delay_s: float = 1.0,
) -> FxRefreshResult:
    """Fetch the ECB's daily rates and write them as a dated rates file.

    The target is ``out_path`` (a file, or a directory for the dated name) or
    ``<cache>/fx/eurofxref-daily-<rate date>.xml``. Changes are reported against ``against``,
    else the bundled rates.
    """
    xml = http_get(url, api_name=ECB_API_NAME, retry_delay_s=retry_delay_s)
    try:
        rates = parse_ecb_xml(xml)
    except FxError as exc:
        raise PriceFetchError(f"{ECB_API_NAME} answer from {url} is unusable: {exc}") from None
    target = refresh_target(out_path, dated_fx_path(FX_FILE_STEM, rates.date))
    bundled = bundled_fx_path()
    compared_with = against or (bundled if bundled.exists() else None)
    previous = None if compared_with is None else load_fx_rates(compared_with)
    outcome = write_refreshed_file(target, xml, force=force)
    return FxRefreshResult(
        path=target,
        outcome=outcome,
        rates=rates,
        compared_with=compared_with,
        previous=previous,
        changes=() if previous is None else diff_rates(previous, rates),
    )
