"""Price catalogs: versioned CSV files of instance offers, loaded into a ``Catalog``.

Layout: ``data/catalogs/v<schema>/<provider>.csv``, one row per instance type and region, header
``CATALOG_COLUMNS``. The loader is the only place that reads the files; lookups are pure functions
of the loaded table. Every row carries its currency, price date and source; unknown prices are
empty cells, never zero, and a row without an on-demand price must say why in ``notes``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from cost_models._names import normalize_name, resolve_name, suggest
from cost_models._offer import Offer
from cost_models._pricing_models import PRICING_MODELS
from cost_models._tables import Row, bundled_data_path, read_rows
from cost_models.errors import (
    CatalogError,
    CatalogSchemaError,
    UnknownGpuError,
    UnknownInstanceError,
    UnknownProviderError,
    UnknownRegionError,
)

CATALOG_SCHEMA_VERSION = 1
CATALOG_COLUMNS = (
    "provider",
    "instance_type",
    "region",
    "gpu_model",
    "gpu_count",
    "gpu_memory_gib",
    "vcpus",
    "ram_gib",
    "currency",
    "on_demand_per_hour",
    "spot_per_hour",
    "reserved_1y_per_hour",
    "reserved_3y_per_hour",
    "price_date",
    "source",
    "notes",
)
PRICE_COLUMNS = tuple(f"{pricing}_per_hour" for pricing in PRICING_MODELS)

_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SCHEMA_DIR = re.compile(r"^v(\d+)$")


@dataclass(frozen=True, eq=False)
class Catalog:
    """The offers of one or more catalog files of one schema version.

    ``offers`` has exactly the ``CATALOG_COLUMNS`` (unknown numbers are NaN); ``sha256`` hashes the
    bytes of the files (name and content, in path order) so a run can record which prices it used.
    """

    offers: pd.DataFrame
    version: int
    sha256: str
    paths: tuple[Path, ...]

    def to_dict(self) -> dict[str, Any]:
        """Which prices these are: schema version, content hash and file names."""
        return {
            "schema_version": self.version,
            "sha256": self.sha256,
            "files": [p.name for p in self.paths],
        }

    def all_offers(self) -> list[Offer]:
        """Every row as an ``Offer``, in file order."""
        return list(self._all_offers)

    @cached_property
    def _all_offers(self) -> tuple[Offer, ...]:
        # Built once per catalog: every lookup (``offer``, ``select``) starts from it, and
        # converting the table row by row took ~50 ms a lookup (a quote makes hundreds).
        return tuple(_offer_from_record(record) for record in self.offers.to_dict("records"))

    @property
    def providers(self) -> list[str]:
        return sorted(self.offers["provider"].unique())

    @property
    def regions(self) -> list[str]:
        return sorted(self.offers["region"].unique())

    @property
    def gpu_models(self) -> list[str]:
        return sorted(self.offers["gpu_model"].unique())

    @property
    def instance_types(self) -> list[str]:
        return sorted(self.offers["instance_type"].unique())

    def price_dates(self, offers: Iterable[Offer] | None = None) -> list[str]:
        """The distinct price dates of ``offers`` (default: the whole catalog), oldest first."""
        dates = (
            {o.price_date for o in offers} if offers is not None else set(self.offers["price_date"])
        )
        return sorted(dates)

    def describe(self) -> str:
        """E.g. ``catalog schema v1, 5 files, sha256 3f2a9c1b7d4e``."""
        files = "1 file" if len(self.paths) == 1 else f"{len(self.paths)} files"
        return f"catalog schema v{self.version}, {files}, sha256 {self.sha256[:12]}"

    def offer(
        self, instance_type: str, provider: str | None = None, region: str | None = None
    ) -> Offer:
        """The offer of ``instance_type`` (optionally of a provider and region).

        When several regions match and none is given, the one with the lowest on-demand price is
        returned (rows without one last), as a price lookup for the type would.
        """
        candidates = self.select(providers=[provider] if provider else None)
        names = {o.instance_type for o in candidates}
        wanted = resolve_name(instance_type, names, UnknownInstanceError)
        matches = [o for o in candidates if o.instance_type == wanted]
        if region is not None:
            wanted_region = resolve_name(region, {o.region for o in matches}, UnknownRegionError)
            matches = [o for o in matches if o.region == wanted_region]
        return min(matches, key=_on_demand_sort_key)

    def select(
        self,
        *,
        providers: Sequence[str] | None = None,
        regions: Sequence[str] | None = None,
        gpus: Sequence[str] | None = None,
        known_gpus: Iterable[str] = (),
    ) -> list[Offer]:
        """Offers matching every given filter (each filter is "any of" its values).

        Provider and GPU names are matched ignoring case and separators; an unknown one raises
        with "Did you mean". ``known_gpus`` (e.g. the GPU spec table) are valid GPU names even
        when no offer has them, which then selects nothing rather than failing. A region may be a
        shell pattern (``eu*``, ``europe-*``), matched ignoring case.
        """
        offers = self.all_offers()
        if providers:
            wanted = {resolve_name(p, self.providers, UnknownProviderError) for p in providers}
            offers = [o for o in offers if o.provider in wanted]
        if gpus:
            names = set(self.gpu_models) | set(known_gpus)
            wanted = {resolve_name(g, names, UnknownGpuError) for g in gpus}
            offers = [o for o in offers if o.gpu_model in wanted]
        if regions:
            wanted = set()
            for pattern in regions:
                wanted |= _matching_regions(pattern, self.regions)
            offers = [o for o in offers if o.region in wanted]
        return offers


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load the bundled catalogs (``None``), one catalog file, or every ``*.csv`` in a folder.

    Raises ``CatalogError`` for a missing or malformed file and ``CatalogSchemaError`` for a file
    or folder of another schema version.
    """
    root = (
        bundled_data_path("catalogs", f"v{CATALOG_SCHEMA_VERSION}") if path is None else Path(path)
    )
    if root.is_dir():
        _check_schema_folder(root)
        files = sorted(root.glob("*.csv"))
        if not files:
            raise CatalogError(
                f"A catalog folder must contain *.csv files, but {str(root)!r} has none."
            )
    elif root.exists():
        _check_schema_folder(root.parent)
        files = [root]
    else:
        raise CatalogError(f"A catalog file or folder must exist, but {str(root)!r} was not found.")

    digest = hashlib.sha256()
    offers: list[Offer] = []
    seen: dict[tuple[str, str, str], str] = {}
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
        for row in read_rows(
            file, CATALOG_COLUMNS, table=f"schema v{CATALOG_SCHEMA_VERSION} catalog"
        ):
            offer = _parse_offer(row)
            key = (offer.provider, offer.instance_type, offer.region)
            if key in seen:
                raise CatalogError(
                    f"{row.file} line {row.line}: provider, instance_type and region must be "
                    f"unique, but {' / '.join(key)} is also in {seen[key]}."
                )
            seen[key] = f"{row.file} line {row.line}"
            offers.append(offer)
    if not offers:
        raise CatalogError(f"A catalog must list at least one offer, but {str(root)!r} has none.")
    table = pd.DataFrame([_record_from_offer(o) for o in offers], columns=list(CATALOG_COLUMNS))
    return Catalog(
        offers=table, version=CATALOG_SCHEMA_VERSION, sha256=digest.hexdigest(), paths=tuple(files)
    )


def _check_schema_folder(folder: Path) -> None:
    match = _SCHEMA_DIR.match(folder.name)
    if match and int(match.group(1)) != CATALOG_SCHEMA_VERSION:
        raise CatalogSchemaError(
            f"This version reads catalog schema v{CATALOG_SCHEMA_VERSION}, but {str(folder)!r} "
            f"holds schema v{match.group(1)}; use a matching llm-cost-sweeper or a "
            f"v{CATALOG_SCHEMA_VERSION} catalog."
        )


def _parse_offer(row: Row) -> Offer:
    provider = row.text("provider")
    if not _PROVIDER.match(provider):
        raise row.fail("provider", "must be a lower-case name like 'aws'")
    currency = row.text("currency")
    if not _CURRENCY.match(currency):
        raise row.fail("currency", "must be an upper-case ISO 4217 code like 'USD'")
    prices = {column: row.number(column, required=False) for column in PRICE_COLUMNS}
    for column, price in prices.items():
        if price is not None and price <= 0:
            raise row.fail(column, "must be positive or empty when unknown (0 is not 'unknown')")
    notes = row.text("notes", required=False)
    if prices["on_demand_per_hour"] is None and not notes:
        raise row.fail("notes", "must say why the on-demand price is empty")
    return Offer(
        provider=provider,
        instance_type=row.text("instance_type"),
        region=row.text("region"),
        gpu_model=row.text("gpu_model"),
        gpu_count=row.integer("gpu_count", required=True) or 0,
        gpu_memory_gib=row.number("gpu_memory_gib", required=True) or 0.0,
        vcpus=row.number("vcpus", required=False),
        ram_gib=row.number("ram_gib", required=False),
        currency=currency,
        on_demand_per_hour=prices["on_demand_per_hour"],
        spot_per_hour=prices["spot_per_hour"],
        reserved_1y_per_hour=prices["reserved_1y_per_hour"],
        reserved_3y_per_hour=prices["reserved_3y_per_hour"],
        price_date=row.iso_date("price_date"),
        source=row.text("source"),
        notes=notes,
    )


def _record_from_offer(offer: Offer) -> dict[str, object]:
    return {
        f.name: math.nan if getattr(offer, f.name) is None else getattr(offer, f.name)
        for f in fields(Offer)
    }


def _offer_from_record(record: Mapping[Any, Any]) -> Offer:
    values: dict[str, Any] = {
        f.name: None if _is_nan(record[f.name]) else record[f.name] for f in fields(Offer)
    }
    values["gpu_count"] = int(values["gpu_count"])
    return Offer(**values)


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _on_demand_sort_key(offer: Offer) -> tuple[bool, float]:
    price = offer.on_demand_per_hour
    return (price is None, price if price is not None else 0.0)


def _matching_regions(pattern: str, regions: Sequence[str]) -> set[str]:
    if any(ch in pattern for ch in "*?["):
        matched = {r for r in regions if fnmatch.fnmatch(r.lower(), pattern.lower())}
    else:
        matched = {r for r in regions if normalize_name(r) == normalize_name(pattern)}
    if not matched:
        suggestions = suggest(pattern, regions)
        prefixed = [r for r in regions if r.lower().startswith(pattern.lower())]
        if len(prefixed) > 1:
            suggestions = [f"{pattern}*", *suggestions]
        raise UnknownRegionError(pattern, suggestions, regions)
    return matched
