"""A catalog refresh: fetch live prices, write a new dated catalog file, report what changed.

The refresh is the edge that reads the previous catalog and writes the new file; choosing the
scope, completing specs and diffing are pure functions over offers.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from cost_models import CATALOG_SCHEMA_VERSION, Offer, gpu_spec, load_catalog
from cost_models.errors import CostModelError, UnknownNameError
from cost_models.fetchers._base import FetchScope, PriceFetcher
from cost_models.fetchers._catalog_csv import catalog_csv_text
from cost_models.fetchers._catalog_diff import CatalogDiff, diff_catalogs, offer_key
from cost_models.fetchers._errors import PriceFetchError
from cost_models.fetchers._fetched_offer import FetchedOffer
from cost_models.fetchers._written_files import (
    WriteOutcome,
    dated_catalog_path,
    refresh_target,
    write_refreshed_file,
)


@dataclasses.dataclass(frozen=True)
class RefreshResult:
    """What one refresh fetched, where it wrote it, and how it differs from the previous catalog."""

    provider: str
    path: Path
    outcome: WriteOutcome
    compared_with: Path | None
    scope: FetchScope
    fetched_offers: int
    carried_over_offers: int
    """Previous offers outside the scope (other instance types or regions), copied unchanged."""
    instance_types_without_prices: tuple[str, ...]
    instance_types_without_specs: tuple[str, ...]
    """Priced by the API but left out: neither the previous catalog nor the GPU table knows them."""
    diff: CatalogDiff

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "path": str(self.path),
            "outcome": self.outcome.value,
            "compared_with": None if self.compared_with is None else str(self.compared_with),
            "price_date": self.scope.price_date.isoformat(),
            "instance_types": list(self.scope.instance_types),
            "regions": list(self.scope.regions),
            "fetched_offers": self.fetched_offers,
            "carried_over_offers": self.carried_over_offers,
            "instance_types_without_prices": list(self.instance_types_without_prices),
            "instance_types_without_specs": list(self.instance_types_without_specs),
            **self.diff.to_json(),
        }


def bundled_catalog_path(provider: str) -> Path:
    """``cost_models/data/catalogs/v1/<provider>.csv`` inside the installed package."""
    import cost_models

    package_dir = Path(cost_models.__file__).parent
    return package_dir / "data" / "catalogs" / f"v{CATALOG_SCHEMA_VERSION}" / f"{provider}.csv"


def refresh_catalog(
    fetcher: PriceFetcher,
    *,
    instance_types: Sequence[str] = (),
    regions: Sequence[str] = (),
    out_path: Path | None = None,
    against: Path | None = None,
    force: bool = False,
    today: date | None = None,
) -> RefreshResult:
    """Fetch ``fetcher``'s prices and write them as a new catalog file.

    The scope defaults to the instance types and regions of the previous catalog (``against``,
    else the bundled one). The new file holds the fetched offers plus the previous offers outside
    the scope, unchanged; it goes to ``out_path`` (a file, or a directory for the dated name)
    or ``<cache>/catalogs/v1/<provider>-<date>.csv``, under :func:`write_refreshed_file`'s rules.
    """
    provider = fetcher.provider
    price_date = today or date.today()
    bundled = bundled_catalog_path(provider)
    compared_with = against or (bundled if bundled.exists() else None)
    previous = [] if compared_with is None else _offers_of(provider, compared_with)

    scope = fetch_scope(
        previous,
        instance_types=instance_types,
        regions=regions,
        price_date=price_date,
        provider=provider,
        compared_with=compared_with,
    )
    fetched = fetcher.fetch_rows(scope)
    offers, without_specs = complete_offers(fetched, previous)
    unpriced = tuple(sorted(set(scope.instance_types) - {row.instance_type for row in fetched}))
    if not offers:
        raise PriceFetchError(_nothing_to_write(fetcher, scope, unpriced, without_specs, previous))
    refreshed = {offer_key(offer) for offer in offers}
    carried_over = [
        offer
        for offer in previous
        if offer_key(offer) not in refreshed
        and (offer.instance_type not in scope.instance_types or offer.region not in scope.regions)
    ]
    new_offers = offers + carried_over

    target = refresh_target(out_path, dated_catalog_path(provider, price_date))
    outcome = write_refreshed_file(target, catalog_csv_text(new_offers).encode(), force=force)
    return RefreshResult(
        provider=provider,
        path=target,
        outcome=outcome,
        compared_with=compared_with,
        scope=scope,
        fetched_offers=len(offers),
        carried_over_offers=len(carried_over),
        instance_types_without_prices=unpriced,
        instance_types_without_specs=tuple(sorted({row.instance_type for row in without_specs})),
        diff=diff_catalogs(previous, new_offers),
    )


def fetch_scope(
    previous: Iterable[Offer],
    *,
    instance_types: Sequence[str],
    regions: Sequence[str],
    price_date: date,
    provider: str,
    compared_with: Path | None,
) -> FetchScope:
    """The requested instance types and regions; an empty request takes the previous catalog's."""
    previous = list(previous)
    chosen_types = tuple(dict.fromkeys(instance_types)) or tuple(
        sorted({offer.instance_type for offer in previous})
    )
    chosen_regions = tuple(dict.fromkeys(regions)) or tuple(
        sorted({offer.region for offer in previous})
    )
    if not chosen_types or not chosen_regions:
        where = (
            f"{compared_with} has no {provider} offers"
            if compared_with
            else f"there is no bundled {provider} catalog"
        )
        raise CostModelError(
            f"no {provider} offers to refresh: {where}; name them with --instance-type TYPE and "
            "--region REGION (both repeatable), or compare --against a catalog that has them"
        )
    return FetchScope(instance_types=chosen_types, regions=chosen_regions, price_date=price_date)


# The catalog requires a reason next to an empty on-demand price.
_NO_ON_DEMAND_NOTE = "no on-demand price in the API answer"


def complete_offers(
    fetched: Iterable[FetchedOffer], previous: Iterable[Offer]
) -> tuple[list[Offer], list[FetchedOffer]]:
    """Catalog offers from fetched prices, and the fetched rows that could not be completed.

    Specs (GPU, vCPUs, RAM) come from the previous catalog's offers of the same instance type,
    so a refreshed file names GPUs as the catalog does; for a new instance type they come from
    the API, with the memory per GPU from the GPU spec table. A row whose GPU model, count or
    memory stays unknown cannot be a catalog offer. An empty on-demand price gets its reason.
    """
    known_specs: dict[str, Offer | FetchedOffer] = {o.instance_type: o for o in previous}
    completed: list[Offer] = []
    incomplete: list[FetchedOffer] = []
    for row in fetched:
        specs = known_specs.get(row.instance_type, row)
        gpu_memory_gib = specs.gpu_memory_gib
        if gpu_memory_gib is None and specs.gpu_model:
            gpu_memory_gib = _gpu_memory_gib(specs.gpu_model)
        if specs.gpu_model is None or specs.gpu_count is None or gpu_memory_gib is None:
            incomplete.append(row)
            continue
        notes = row.notes
        if row.on_demand_per_hour is None and "on-demand" not in notes:
            notes = "; ".join(filter(None, (_NO_ON_DEMAND_NOTE, notes)))
        completed.append(
            Offer(
                provider=row.provider,
                instance_type=row.instance_type,
                region=row.region,
                gpu_model=specs.gpu_model,
                gpu_count=specs.gpu_count,
                gpu_memory_gib=gpu_memory_gib,
                vcpus=specs.vcpus,
                ram_gib=specs.ram_gib,
                currency=row.currency,
                on_demand_per_hour=row.on_demand_per_hour,
                spot_per_hour=row.spot_per_hour,
                reserved_1y_per_hour=row.reserved_1y_per_hour,
                reserved_3y_per_hour=row.reserved_3y_per_hour,
                price_date=row.price_date.isoformat(),
                source=row.source,
                notes=notes,
            )
        )
    return completed, incomplete


def _offers_of(provider: str, catalog_path: Path) -> list[Offer]:
    return [
        offer for offer in load_catalog(catalog_path).all_offers() if offer.provider == provider
    ]


def _gpu_memory_gib(gpu_model: str) -> float | None:
    try:
        return gpu_spec(gpu_model).memory_gib
    except UnknownNameError:
        return None


def _nothing_to_write(
    fetcher: PriceFetcher,
    scope: FetchScope,
    unpriced: tuple[str, ...],
    without_specs: list[FetchedOffer],
    previous: list[Offer],
) -> str:
    if without_specs:
        types = ", ".join(sorted({row.instance_type for row in without_specs}))
        return (
            f"{fetcher.api_name} priced {types}, but their GPU is unknown (not in the previous "
            "catalog nor the GPU table); nothing was written. Add a row for them to a catalog "
            "and refresh with --against it"
        )
    known_types = sorted({offer.instance_type for offer in previous})
    hints = [
        f" Did you mean '{close[0]}' for '{name}'?"
        for name in unpriced
        if (close := difflib.get_close_matches(name, known_types, n=1))
    ]
    return (
        f"{fetcher.api_name} returned no prices for {', '.join(scope.instance_types)} in "
        f"{', '.join(scope.regions)}; nothing was written.{''.join(hints)}"
    )
