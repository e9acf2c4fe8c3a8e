"""An offer's hourly price in euros for a pricing model."""

from __future__ import annotations

from cost_models._fx import FxRates
from cost_models._offer import Offer
from cost_models._pricing_models import PRICING_LABELS, PricingModel
from cost_models.errors import PriceUnknownError


def eur_per_hour(offer: Offer, pricing: PricingModel, fx: FxRates) -> float:
    """Euros per instance-hour of ``offer`` under ``pricing``; raise if the catalog has no price."""
    price = offer.price_per_hour(pricing)
    if price is None:
        why = f" ({offer.notes})" if offer.notes else ""
        raise PriceUnknownError(
            f"A {PRICING_LABELS[pricing]} price is needed, but the catalog has none for "
            f"{offer.provider} {offer.instance_type} in {offer.region}{why}."
        )
    return fx.to_eur(price, offer.currency)


def eur_per_hour_or_none(offer: Offer, pricing: PricingModel, fx: FxRates) -> float | None:
    """Euros per instance-hour of ``offer`` under ``pricing``; None where the catalog has none."""
    price = offer.price_per_hour(pricing)
    return None if price is None else fx.to_eur(price, offer.currency)
