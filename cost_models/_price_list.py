"""The price list: every matching offer priced in euros under each pricing model, and per month."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cost_models._catalog import Catalog
from cost_models._fx import FxRates
from cost_models._hours import HOURS_PER_MONTH
from cost_models._offer import Offer
from cost_models._pricing import eur_per_hour_or_none
from cost_models._pricing_models import PRICING_MODELS


@dataclass(frozen=True)
class PriceRow:
    """One offer with its price per instance-hour in euros under each pricing model (None where
    the catalog has no such price) and its on-demand price for a month around the clock."""

    offer: Offer
    eur_per_hour: dict[str, float | None]

    @property
    def on_demand_eur_per_month(self) -> float | None:
        on_demand = self.eur_per_hour["on_demand"]
        return None if on_demand is None else on_demand * HOURS_PER_MONTH

    def to_dict(self) -> dict[str, Any]:
        offer = self.offer
        row: dict[str, Any] = {
            "provider": offer.provider,
            "instance_type": offer.instance_type,
            "region": offer.region,
            "gpu_model": offer.gpu_model,
            "gpu_count": offer.gpu_count,
            "gpu_memory_gib": offer.gpu_memory_gib,
            "total_gpu_memory_gib": offer.total_gpu_memory_gib,
            "vcpus": offer.vcpus,
            "ram_gib": offer.ram_gib,
            "currency": offer.currency,
        }
        for pricing in PRICING_MODELS:
            row[f"{pricing}_per_hour"] = offer.price_per_hour(pricing)
        for pricing in PRICING_MODELS:
            row[f"{pricing}_eur_per_hour"] = self.eur_per_hour[pricing]
        row["on_demand_eur_per_month"] = self.on_demand_eur_per_month
        row.update(price_date=offer.price_date, source=offer.source, notes=offer.notes)
        return row


@dataclass(frozen=True)
class PriceList:
    """Price rows in reading order, with the exchange rate and catalog they come from."""

    rows: tuple[PriceRow, ...]
    fx: FxRates
    catalog: Catalog

    @property
    def offers(self) -> list[Offer]:
        return [row.offer for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fx": self.fx.to_dict(),
            "catalog": self.catalog.to_dict(),
            "hours_per_month": HOURS_PER_MONTH,
            "offers": [row.to_dict() for row in self.rows],
        }


def price_row(offer: Offer, fx: FxRates) -> PriceRow:
    """``offer`` priced in euros under every pricing model."""
    return PriceRow(offer, {p: eur_per_hour_or_none(offer, p, fx) for p in PRICING_MODELS})


def price_list(
    catalog: Catalog,
    fx: FxRates,
    *,
    known_gpus: Iterable[str],
    providers: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    gpus: Sequence[str] | None = None,
) -> PriceList:
    """The offers matching the filters, by GPU model, GPU count, then on-demand € per hour
    (offers without one last), provider and region."""
    offers = catalog.select(providers=providers, regions=regions, gpus=gpus, known_gpus=known_gpus)
    rows = [price_row(offer, fx) for offer in offers]
    rows.sort(key=_reading_order)
    return PriceList(tuple(rows), fx, catalog)


def _reading_order(row: PriceRow) -> tuple[str, int, float, str, str]:
    on_demand = row.eur_per_hour["on_demand"]
    o = row.offer
    price = math.inf if on_demand is None else on_demand
    return (o.gpu_model, o.gpu_count, price, o.provider, o.region)
