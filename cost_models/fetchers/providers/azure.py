"""Azure VM prices from the public Retail Prices API (no authentication).

:func:`parse_azure_items` is pure (API items in, offers out); :class:`AzurePriceFetcher`
is the edge that queries the API and follows ``NextPageLink``.

What the items mean (reference §4): a Consumption item is the on-demand price, or the spot price
when its ``skuName`` ends in " Spot"; a Reservation item's ``retailPrice`` is the TOTAL for the
``reservationTerm`` even though ``unitOfMeasure`` says "1 Hour", so it is divided by the hours in
the term. Windows, Low Priority and Dev/Test items are not the Linux list price and are skipped.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from cost_models.fetchers._base import FetchScope, PriceFetcher, register_price_fetcher
from cost_models.fetchers._errors import PriceFetchError
from cost_models.fetchers._fetched_offer import FetchedOffer
from cost_models.fetchers._http import REFRESH_DEADLINE_S, Deadline, http_get
from cost_models.fetchers._reservation_rates import effective_hourly_rate

AZURE_RETAIL_PRICES_URL = "https://prices.azure.com/api/retail/prices"
AZURE_API_VERSION = "2023-01-01-preview"
RETAIL_PRICES_SOURCE = f"Azure Retail Prices API {AZURE_API_VERSION}"

_RESERVATION_COLUMN_BY_TERM = {"1 Year": "reserved_1y_per_hour", "3 Years": "reserved_3y_per_hour"}
_TERM_YEARS_BY_COLUMN = {"reserved_1y_per_hour": 1, "reserved_3y_per_hour": 3}
_COLUMN_LABELS = {
    "on_demand_per_hour": "on-demand",
    "spot_per_hour": "spot",
    "reserved_1y_per_hour": "1-year reservation",
    "reserved_3y_per_hour": "3-year reservation",
}
_MAX_PAGES = 1000

# ---------------------------------------------------------------------------------------------
# Pure parsing of API answers
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _GatheredPrices:
    """Prices gathered so far for one (VM size, region)."""

    currency: str
    lowest: dict[str, float] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)


def parse_azure_items(
    items: Iterable[Mapping[str, Any]],
    *,
    price_date: date,
    source: str = RETAIL_PRICES_SOURCE,
) -> list[FetchedOffer]:
    """Offers from Retail Prices ``Items``: one per (armSkuName, armRegionName).

    Prices are per instance-hour in the items' ``currencyCode``. Items without a SKU or region
    are skipped; a priced item without ``retailPrice`` leaves its column None and is named in
    ``notes``. When several items price the same column, the lowest is kept.
    """
    offers: dict[tuple[str, str], _GatheredPrices] = {}
    for item in items:
        column = _price_column(item)
        sku, region = item.get("armSkuName"), item.get("armRegionName")
        if column is None or not sku or not region:
            continue
        offer = offers.setdefault(
            (sku, region), _GatheredPrices(currency=item.get("currencyCode", "USD"))
        )
        price = _as_price(item.get("retailPrice"))
        if price is None or price <= 0:
            offer.notes.append(f"{_COLUMN_LABELS[column]} item without a positive retailPrice")
            continue
        if column in _TERM_YEARS_BY_COLUMN:  # the total for the term, not an hourly price
            years = _TERM_YEARS_BY_COLUMN[column]
            price = effective_hourly_rate(hourly_fee=0.0, term_fee=price, years=years)
        offer.lowest[column] = min(price, offer.lowest.get(column, price))
    return [
        FetchedOffer(
            provider="azure",
            instance_type=sku,
            region=region,
            currency=offer.currency,
            price_date=price_date,
            source=f"{source} {price_date}",
            on_demand_per_hour=offer.lowest.get("on_demand_per_hour"),
            spot_per_hour=offer.lowest.get("spot_per_hour"),
            reserved_1y_per_hour=offer.lowest.get("reserved_1y_per_hour"),
            reserved_3y_per_hour=offer.lowest.get("reserved_3y_per_hour"),
            notes="; ".join(sorted(set(offer.notes))),
        )
        for (sku, region), offer in offers.items()
    ]


def _price_column(item: Mapping[str, Any]) -> str | None:
    """The catalog column an item prices, or None for items the catalog does not use."""
    sku_name = item.get("skuName", "")
    if (
        item.get("serviceName", "Virtual Machines") != "Virtual Machines"
        or " Windows" in item.get("productName", "")
        or sku_name.endswith(" Low Priority")
        or item.get("unitOfMeasure", "1 Hour") != "1 Hour"
    ):
        return None
    if item.get("type") == "Consumption":
        return "spot_per_hour" if sku_name.endswith(" Spot") else "on_demand_per_hour"
    if item.get("type") == "Reservation":
        return _RESERVATION_COLUMN_BY_TERM.get(item.get("reservationTerm", ""))
    return None  # DevTestConsumption and types added later


def _as_price(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# The edge: querying the API
# ---------------------------------------------------------------------------------------------


@register_price_fetcher
class AzurePriceFetcher(PriceFetcher):
    """Consumption, spot and reservation prices from the Azure Retail Prices API.

    One query per (region, VM size); ``endpoint_url`` replaces the public base URL (tests and
    proxies); ``retry_delay_s`` is the wait before the one retry of a throttled or failed page.
    """

    provider = "azure"
    api_name = "Azure Retail Prices API"

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        retry_delay_s: float = 1.0,
        deadline_s: float = REFRESH_DEADLINE_S,
    ) -> None:
        super().__init__(endpoint_url=endpoint_url)
        self._retry_delay_s = retry_delay_s
        self._deadline_s = deadline_s

    def fetch_rows(self, scope: FetchScope) -> list[FetchedOffer]:
        base_url = self.endpoint_url or AZURE_RETAIL_PRICES_URL
        deadline = Deadline.after(self._deadline_s)  # every page and retry of this refresh
        items = [
            item
            for region in scope.regions
            for vm_size in scope.instance_types
            for item in self._all_items(
                retail_prices_url(base_url, region=region, vm_size=vm_size), deadline
            )
        ]
        return parse_azure_items(items, price_date=scope.price_date)

    def _all_items(self, first_url: str, deadline: Deadline) -> list[Mapping[str, Any]]:
        items: list[Mapping[str, Any]] = []
        url: str | None = first_url
        seen: set[str] = set()
        while url:
            if url in seen or len(seen) >= _MAX_PAGES:
                raise PriceFetchError(
                    f"{self.api_name} pagination does not end: NextPageLink {url}"
                )
            seen.add(url)
            page = self._page(url, deadline)
            items.extend(item for item in page["Items"] if isinstance(item, dict))
            link = page.get("NextPageLink") or None
            url = None if link is None else checked_next_page_link(link, first_url, self.api_name)
        return items

    def _page(self, url: str, deadline: Deadline) -> Mapping[str, Any]:
        body = http_get(
            url, api_name=self.api_name, retry_delay_s=self._retry_delay_s, deadline=deadline
        )
        try:
            page = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise PriceFetchError(
                f"{self.api_name} answered something that is not JSON for {url}: {body[:80]!r}"
            ) from None
        if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
            raise PriceFetchError(f"{self.api_name} answer for {url} has no 'Items' list")
        return page


def checked_next_page_link(link: object, first_url: str, api_name: str) -> str:
    """``link`` if it may be followed: on the host (and port) the first page came from, over
    https -- or over http only when that first page itself was (a mirror on --endpoint-url).
    A page that sends the fetcher elsewhere, or downgrades it to http, is refused."""
    first = urllib.parse.urlsplit(first_url)
    nxt = urllib.parse.urlsplit(link) if isinstance(link, str) else None
    if (
        nxt is None
        or nxt.scheme not in ("https", first.scheme)
        or (nxt.scheme == "http" and first.scheme != "http")
        or (nxt.hostname, nxt.port) != (first.hostname, first.port)
    ):
        raise PriceFetchError(
            f"{api_name}: a NextPageLink must be https (or the endpoint's own http) on the host "
            f"asked, {first.scheme}://{first.netloc}, but got {str(link)[:200]!r}; not followed"
        )
    return str(link)


def retail_prices_url(base_url: str, *, region: str, vm_size: str) -> str:
    """The first-page URL for every price of ``vm_size`` in ``region`` (all price types)."""
    odata_filter = (
        f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
        f"and armSkuName eq '{vm_size}'"
    )
    query = urllib.parse.urlencode(
        {"api-version": AZURE_API_VERSION, "$filter": odata_filter}, quote_via=urllib.parse.quote
    )
    separator = "&" if urllib.parse.urlsplit(base_url).query else "?"
    return f"{base_url}{separator}{query}"
