"""What changed between two catalogs: offers added, offers removed, and prices that moved."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from cost_models import Offer
from cost_models.fetchers._fetched_offer import PRICE_COLUMNS, OfferKey

# Prices closer than this are equal: catalog prices have at most 6 decimals of USD or EUR.
_PRICE_TOLERANCE = 1e-9


@dataclasses.dataclass(frozen=True)
class PriceChange:
    """One price column of one offer that moved from ``old`` to ``new`` (None = unknown)."""

    key: OfferKey
    column: str
    currency: str
    old: float | None
    new: float | None

    @property
    def percent(self) -> float | None:
        """(new − old) / old × 100, or None when either side is unknown or old is 0."""
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / self.old * 100.0

    def to_json(self) -> dict[str, Any]:
        provider, instance_type, region = self.key
        return {
            "provider": provider,
            "instance_type": instance_type,
            "region": region,
            "column": self.column,
            "currency": self.currency,
            "old": self.old,
            "new": self.new,
            "percent": None if self.percent is None else round(self.percent, 2),
        }


@dataclasses.dataclass(frozen=True)
class CatalogDiff:
    """Offers are matched by (provider, instance_type, region); an offer whose currency changed
    counts as removed and added, since its prices cannot be compared."""

    added: tuple[Offer, ...]
    removed: tuple[Offer, ...]
    price_changes: tuple[PriceChange, ...]
    unchanged_offers: int

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.price_changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": [_offer_json(offer) for offer in self.added],
            "removed": [_offer_json(offer) for offer in self.removed],
            "price_changes": [change.to_json() for change in self.price_changes],
            "unchanged_offers": self.unchanged_offers,
        }


def diff_catalogs(old_offers: Iterable[Offer], new_offers: Iterable[Offer]) -> CatalogDiff:
    """Compare two catalogs offer by offer; the result is sorted by offer, then price column."""
    old_by_key = {(offer_key(o), o.currency): o for o in old_offers}
    new_by_key = {(offer_key(o), o.currency): o for o in new_offers}
    changes: list[PriceChange] = []
    unchanged = 0
    for matched in sorted(old_by_key.keys() & new_by_key.keys()):
        old, new = old_by_key[matched], new_by_key[matched]
        moved = False
        for column in PRICE_COLUMNS:
            old_price, new_price = getattr(old, column), getattr(new, column)
            if not _same_price(old_price, new_price):
                changes.append(
                    PriceChange(offer_key(old), column, old.currency, old_price, new_price)
                )
                moved = True
        unchanged += not moved
    return CatalogDiff(
        added=tuple(new_by_key[k] for k in sorted(new_by_key.keys() - old_by_key.keys())),
        removed=tuple(old_by_key[k] for k in sorted(old_by_key.keys() - new_by_key.keys())),
        price_changes=tuple(changes),
        unchanged_offers=unchanged,
    )


def offer_key(offer: Offer) -> OfferKey:
    return (offer.provider, offer.instance_type, offer.region)


def _same_price(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is new
    return abs(old - new) <= _PRICE_TOLERANCE


def _offer_json(offer: Offer) -> dict[str, Any]:
    return {
        "provider": offer.provider,
        "instance_type": offer.instance_type,
        "region": offer.region,
        "currency": offer.currency,
        **{column: getattr(offer, column) for column in PRICE_COLUMNS},
    }
