"""One offer's commitment comparison as the ``sweeper commit`` command reports it: the offer, its
prices, where each reserved price came from, the comparison, and the rate and catalog used."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cost_models._catalog import Catalog
from cost_models._commitment import (
    DEFAULT_PRICE_DECLINE_PER_YEAR,
    DEFAULT_RESERVED_DISCOUNT_1Y,
    DEFAULT_RESERVED_DISCOUNT_3Y,
    CommitmentComparison,
    OptionCost,
    compare_commitments,
)
from cost_models._commitment_prices import commitment_prices
from cost_models._fx import FxRates
from cost_models._hours import HOURS_PER_MONTH
from cost_models._offer import Offer

#: Where a reserved price comes from when the user gives no discount.
CATALOG_RESERVED_PRICE = "catalog reserved price"
DEFAULT_DISCOUNT = "default discount (no catalog price)"


@dataclass(frozen=True)
class CommitmentQuote:
    """The comparison for ``offer``; ``price_sources`` names the source of each reserved price."""

    offer: Offer
    on_demand_eur_per_hour: float
    comparison: CommitmentComparison
    price_sources: Mapping[str, str]
    fx: FxRates
    catalog: Catalog

    def price_source(self, option: OptionCost) -> str:
        return self.price_sources.get(option.option, option.price_source)

    def to_dict(self) -> dict[str, Any]:
        c, offer, on_demand = self.comparison, self.offer, self.on_demand_eur_per_hour
        return {
            "offer": {
                "provider": offer.provider,
                "instance_type": offer.instance_type,
                "region": offer.region,
                "gpu_model": offer.gpu_model,
                "gpu_count": offer.gpu_count,
                "price_date": offer.price_date,
            },
            "hours_per_month": c.hours_per_month,
            "months": c.months,
            "hours_in_month": c.hours_in_month,
            "utilization": c.utilization,
            "price_decline_per_year": c.price_decline_per_year,
            "market_factor_sum": c.market_factor_sum,
            "on_demand_eur_per_month_now": on_demand * c.hours_per_month,
            "on_demand_eur_per_month_around_the_clock_now": on_demand * c.hours_in_month,
            "options": [
                {
                    "option": o.option,
                    "eur_per_hour_now": o.eur_per_hour_now,
                    "total_eur": None if math.isinf(o.total_eur) else o.total_eur,
                    "hours_billed": None if math.isinf(o.hours_billed) else o.hours_billed,
                    "committed_beyond_horizon_eur": o.committed_beyond_horizon_eur,
                    "break_even_utilization": o.break_even_utilization,
                    "eligible": o.eligible,
                    "price_source": self.price_source(o),
                    "note": o.note,
                }
                for o in c.options
            ],
            "recommendation": c.recommendation,
            "reason": c.reason,
            "fx": self.fx.to_dict(),
            "catalog": self.catalog.to_dict(),
            "price_dates": [offer.price_date],
        }


def quote_commitment(
    offer: Offer,
    fx: FxRates,
    catalog: Catalog,
    *,
    hours_per_month: float,
    months: int,
    reserved_discount_1y: float | None = None,
    reserved_discount_3y: float | None = None,
    discount_names: tuple[str, str] = ("reserved discount 1y", "reserved discount 3y"),
    price_decline_per_year: float = DEFAULT_PRICE_DECLINE_PER_YEAR,
    interruptible: bool = False,
    interruptions_per_hour: float = 0.0,
    checkpoint_interval_hours: float = 1.0,
    restart_hours: float = 0.25,
) -> CommitmentQuote:
    """Compare on-demand, spot and reservations of ``offer`` (``compare_commitments``).

    A reservation is priced at the given discount off on-demand, else at the catalog's reserved
    price, else at the default discount. ``discount_names`` (1-year, 3-year) say how a reader gave
    the discounts (e.g. the CLI's flags), for the "price from" column."""
    prices = commitment_prices(offer, fx)
    comparison = compare_commitments(
        prices.on_demand_eur_per_hour,
        hours_per_month=hours_per_month,
        months=months,
        eur_per_hour_spot=prices.spot_eur_per_hour,
        interruption_rate_per_hour=interruptions_per_hour,
        checkpoint_interval_hours=checkpoint_interval_hours,
        restart_hours=restart_hours,
        interruptible=interruptible,
        eur_per_hour_reserved_1y=None
        if reserved_discount_1y is not None
        else prices.reserved_1y_eur_per_hour,
        eur_per_hour_reserved_3y=None
        if reserved_discount_3y is not None
        else prices.reserved_3y_eur_per_hour,
        reserved_discount_1y=DEFAULT_RESERVED_DISCOUNT_1Y
        if reserved_discount_1y is None
        else reserved_discount_1y,
        reserved_discount_3y=DEFAULT_RESERVED_DISCOUNT_3Y
        if reserved_discount_3y is None
        else reserved_discount_3y,
        price_decline_per_year=price_decline_per_year,
        hours_in_month=HOURS_PER_MONTH,
    )
    sources = {
        "reserved_1y": _reserved_price_source(
            reserved_discount_1y, discount_names[0], offer.reserved_1y_per_hour
        ),
        "reserved_3y": _reserved_price_source(
            reserved_discount_3y, discount_names[1], offer.reserved_3y_per_hour
        ),
    }
    return CommitmentQuote(offer, prices.on_demand_eur_per_hour, comparison, sources, fx, catalog)


def _reserved_price_source(given: float | None, name: str, catalog_price: float | None) -> str:
    if given is not None:
        return f"{name} {given:.0%}"
    if catalog_price is not None:
        return CATALOG_RESERVED_PRICE
    return DEFAULT_DISCOUNT
