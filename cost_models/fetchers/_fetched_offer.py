"""An offer as a pricing API describes it: its prices always, its specs only where the API has them.

Parsers return these; the refresh completes their specs (GPU, vCPUs, RAM) from the previous
catalog and turns them into the catalog's :class:`~cost_models.Offer` rows.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from cost_models import PRICING_MODELS

PRICE_COLUMNS: tuple[str, ...] = tuple(f"{pricing}_per_hour" for pricing in PRICING_MODELS)

OfferKey = tuple[str, str, str]
"""(provider, instance_type, region): one offer, the unit a refresh fetches and a diff compares."""


@dataclasses.dataclass(frozen=True)
class FetchedOffer:
    """One instance type in one region. Prices are per instance-hour in ``currency``; None =
    unknown. Reserved prices are effective hourly rates (upfront fees folded in).
    ``gpu_memory_gib`` is per GPU, as in the catalog."""

    provider: str
    instance_type: str
    region: str
    currency: str
    price_date: date
    source: str
    on_demand_per_hour: float | None = None
    spot_per_hour: float | None = None
    reserved_1y_per_hour: float | None = None
    reserved_3y_per_hour: float | None = None
    notes: str = ""
    gpu_model: str | None = None
    gpu_count: int | None = None
    gpu_memory_gib: float | None = None
    vcpus: float | None = None
    ram_gib: float | None = None

    @property
    def key(self) -> OfferKey:
        return (self.provider, self.instance_type, self.region)

    def prices(self) -> dict[str, float | None]:
        """Price column name → USD (or ``currency``) per instance-hour."""
        return {column: getattr(self, column) for column in PRICE_COLUMNS}
