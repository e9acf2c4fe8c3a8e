"""The catalog prices a commitment comparison starts from, in euros per instance-hour.

The spot rule lives here, once: a spot price above the on-demand price of the same offer is a
data error in the source (spot is a discount on spare capacity), and nobody would buy such spot,
so it is dropped and the comparison goes on without a spot option.
"""

from __future__ import annotations

from dataclasses import dataclass

from cost_models._fx import FxRates
from cost_models._offer import Offer
from cost_models._pricing import eur_per_hour, eur_per_hour_or_none


@dataclass(frozen=True)
class CommitmentPrices:
    """Today's € per instance-hour of one offer; None where the catalog has no (usable) price."""

    on_demand_eur_per_hour: float
    spot_eur_per_hour: float | None
    reserved_1y_eur_per_hour: float | None
    reserved_3y_eur_per_hour: float | None


def usable_spot_eur_per_hour(
    spot_eur_per_hour: float | None, on_demand_eur_per_hour: float
) -> float | None:
    """The spot price, or None when there is none or it is above on-demand (see module doc)."""
    if spot_eur_per_hour is None or spot_eur_per_hour > on_demand_eur_per_hour:
        return None
    return spot_eur_per_hour


def commitment_prices(offer: Offer, fx: FxRates) -> CommitmentPrices:
    """``offer``'s prices in euros under each pricing model, the spot rule applied; raises
    ``PriceUnknownError`` when the catalog has no on-demand price (nothing to compare against)."""
    on_demand = eur_per_hour(offer, "on_demand", fx)
    return CommitmentPrices(
        on_demand_eur_per_hour=on_demand,
        spot_eur_per_hour=usable_spot_eur_per_hour(
            eur_per_hour_or_none(offer, "spot", fx), on_demand
        ),
        reserved_1y_eur_per_hour=eur_per_hour_or_none(offer, "reserved_1y", fx),
        reserved_3y_eur_per_hour=eur_per_hour_or_none(offer, "reserved_3y", fx),
    )
