"""The pricing models an instance can be bought under, and how each is named to a reader.

One vocabulary: the catalog's price columns (``<model>_per_hour``), the CLI's ``--pricing``
choices, the study schema's ``pricing`` fields and the report all read ``PRICING_MODELS``.
A pricing model is a column of the versioned catalog schema, not a plug-in (a new one is a new
schema version), so it is one declared ``Literal`` rather than a registry.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

from cost_models.errors import InvalidInputError

PricingModel = Literal["on_demand", "spot", "reserved_1y", "reserved_3y"]
PRICING_MODELS: tuple[PricingModel, ...] = get_args(PricingModel)

#: How a sentence names each pricing model ("at 1-year reserved €2.1/h").
PRICING_LABELS: dict[str, str] = {
    "on_demand": "on-demand",
    "spot": "spot",
    "reserved_1y": "1-year reserved",
    "reserved_3y": "3-year reserved",
}


def check_pricing_model(name: object) -> PricingModel:
    """``name`` as a pricing model; anything else is refused with the list of them."""
    if name not in PRICING_MODELS:
        raise InvalidInputError(
            f"Unknown pricing model {name!r}. Available: {', '.join(PRICING_MODELS)}"
        )
    return cast(PricingModel, name)
