"""Currency conversion: the one place where a price in another currency becomes euros.

Rates are quoted the ECB way, as units of a currency per 1 EUR (``USD 1.1435`` means
1 EUR = 1.1435 USD), so ``eur = amount / rate``. Every ``FxRates`` carries the date of its rates
and where they came from, and ``describe()`` says both for reports.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cost_models.errors import FxError

ECB_SOURCE = "ECB reference rate"
BUNDLED_ECB_FILE = "eurofxref-daily.xml"
_ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


@dataclass(frozen=True)
class FxRates:
    """Dated exchange rates, as units of each currency per 1 EUR (EUR itself is 1)."""

    date: dt.date
    source: str
    units_per_eur: Mapping[str, float] = field(repr=False)

    def __hash__(self) -> int:
        return hash((self.date, self.source, tuple(sorted(self.units_per_eur.items()))))

    def __post_init__(self) -> None:
        rates = {code.upper(): float(rate) for code, rate in self.units_per_eur.items()}
        for code, rate in rates.items():
            if not (math.isfinite(rate) and rate > 0):
                raise FxError(
                    f"An exchange rate must be a positive number, but got {code} {rate!r}."
                )
        rates["EUR"] = 1.0
        object.__setattr__(self, "units_per_eur", MappingProxyType(rates))

    @classmethod
    def fixed(cls, *, usd_per_eur: float, date: dt.date, source: str = "user override") -> FxRates:
        """A single USD rate given by the user (flag or config), dated when it was given."""
        return cls(date=date, source=source, units_per_eur={"USD": usd_per_eur})

    @property
    def usd_per_eur(self) -> float:
        return self.rate("USD")

    def rate(self, currency: str) -> float:
        """Units of ``currency`` per 1 EUR."""
        code = currency.strip().upper()
        try:
            return self.units_per_eur[code]
        except KeyError:
            known = ", ".join(sorted(self.units_per_eur))
            raise FxError(
                f"No exchange rate for {code!r} in the {self.source} of {self.date.isoformat()}; "
                f"known currencies: {known}. Pass a rate (e.g. --fx-usd-per-eur) or refresh the "
                "rates."
            ) from None

    def to_eur(self, amount: float, currency: str) -> float:
        """``amount`` of ``currency`` in euros at this table's rate."""
        return float(amount) / self.rate(currency)

    def describe(self, currency: str = "USD") -> str:
        """E.g. ``1 EUR = 1.1435 USD (ECB reference rate, 2026-07-09)``."""
        rate = f"{self.rate(currency):g} {currency.upper()}"
        return f"1 EUR = {rate} ({self.source}, {self.date.isoformat()})"

    def to_dict(self) -> dict[str, Any]:
        """The USD rate, its date and source, as the CLI's ``--json`` reports them."""
        return {
            "usd_per_eur": self.rate("USD"),
            "date": self.date.isoformat(),
            "source": self.source,
            "describe": self.describe(),
        }


def parse_ecb_xml(text: str | bytes, source: str = ECB_SOURCE) -> FxRates:
    """Rates from an ECB ``eurofxref`` XML (daily or history file; the latest day is used)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise FxError(
            f"An ECB rates file must be well-formed XML, but parsing failed: {exc}."
        ) from None
    days = [cube for cube in root.iter(f"{_ECB_NAMESPACE}Cube") if "time" in cube.attrib]
    if not days:
        raise FxError(
            "An ECB rates file must contain <Cube time='YYYY-MM-DD'> with <Cube currency=... "
            "rate=...>, but no dated Cube was found."
        )
    latest = max(days, key=lambda cube: cube.attrib["time"])
    try:
        date = dt.date.fromisoformat(latest.attrib["time"])
    except ValueError:
        raise FxError(
            f"An ECB Cube time must be an ISO date, but got {latest.attrib['time']!r}."
        ) from None
    rates: dict[str, float] = {}
    for cube in latest:
        currency, rate = cube.attrib.get("currency"), cube.attrib.get("rate")
        if currency is None or rate is None:
            continue
        try:
            rates[currency] = float(rate)
        except ValueError:
            raise FxError(f"An ECB rate must be a number, but got {currency} {rate!r}.") from None
    if not rates:
        raise FxError(
            f"The ECB rates of {date.isoformat()} must list at least one currency, but none was "
            "found."
        )
    return FxRates(date=date, source=source, units_per_eur=rates)


def load_fx_rates(path: str | Path | None = None) -> FxRates:
    """The bundled ECB reference rates, or those of an ECB XML file at ``path``."""
    if path is None:
        data = resources.files("cost_models").joinpath("data", "fx", BUNDLED_ECB_FILE).read_bytes()
        return parse_ecb_xml(data)
    file = Path(path)
    if not file.is_file():
        raise FxError(f"An ECB rates file must exist, but {str(file)!r} was not found.")
    return parse_ecb_xml(file.read_bytes())
