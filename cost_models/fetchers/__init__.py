"""Live price refresh: fetchers that turn provider pricing APIs into schema-v1 catalog rows.

Kept apart from the catalog lookups (as SkyPilot keeps ``sky/catalog/data_fetchers/``): nothing
here is imported when costs are computed. Each provider is one module of ``providers/`` that
registers a :class:`PriceFetcher` in ``PRICE_FETCHERS``, which finds it without being told; its
parse functions are pure (API answers in, :class:`FetchedOffer` rows out), its client code is the
edge. A refresh completes the rows' specs from the previous catalog,
writes a new dated schema-v1 file and diffs it against the previous one.

    from cost_models.fetchers import price_fetcher_class, refresh_catalog
    result = refresh_catalog(price_fetcher_class("azure")(), regions=["westeurope"])
"""

from __future__ import annotations

from cost_models.fetchers._base import (
    PRICE_FETCHERS,
    FetchScope,
    PriceFetcher,
    available_price_fetchers,
    price_fetcher_class,
    register_price_fetcher,
)
from cost_models.fetchers._catalog_csv import catalog_csv_text
from cost_models.fetchers._catalog_diff import CatalogDiff, PriceChange, diff_catalogs
from cost_models.fetchers._ecb import (
    ECB_DAILY_URL,
    FxRefreshResult,
    RateChange,
    diff_rates,
    refresh_ecb_rates,
)
from cost_models.fetchers._errors import (
    CatalogFileConflictError,
    PriceFetchError,
    UnknownPriceSourceError,
)
from cost_models.fetchers._fetched_offer import FetchedOffer
from cost_models.fetchers._refresh import (
    RefreshResult,
    bundled_catalog_path,
    complete_offers,
    refresh_catalog,
)
from cost_models.fetchers._reservation_rates import HOURS_PER_YEAR, effective_hourly_rate
from cost_models.fetchers._written_files import (
    CACHE_DIR_ENV,
    WriteOutcome,
    cache_dir,
    write_refreshed_file,
)
from cost_models.fetchers.providers.aws import (
    AwsPriceFetcher,
    cheapest_latest_spot_prices,
    parse_aws_products,
)
from cost_models.fetchers.providers.azure import AzurePriceFetcher, parse_azure_items

__all__ = [
    "CACHE_DIR_ENV",
    "ECB_DAILY_URL",
    "HOURS_PER_YEAR",
    "PRICE_FETCHERS",
    "AwsPriceFetcher",
    "AzurePriceFetcher",
    "CatalogDiff",
    "CatalogFileConflictError",
    "FetchScope",
    "FetchedOffer",
    "FxRefreshResult",
    "PriceChange",
    "PriceFetchError",
    "PriceFetcher",
    "RateChange",
    "RefreshResult",
    "UnknownPriceSourceError",
    "WriteOutcome",
    "available_price_fetchers",
    "bundled_catalog_path",
    "cache_dir",
    "catalog_csv_text",
    "cheapest_latest_spot_prices",
    "complete_offers",
    "diff_catalogs",
    "diff_rates",
    "effective_hourly_rate",
    "parse_aws_products",
    "parse_azure_items",
    "price_fetcher_class",
    "refresh_catalog",
    "refresh_ecb_rates",
    "register_price_fetcher",
    "write_refreshed_file",
]
