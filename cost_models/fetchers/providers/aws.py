"""AWS EC2 prices: Price List API ``get_products`` (on-demand, reserved) and spot price history.

The parse functions are pure (API answers in, catalog rows out); :class:`AwsPriceFetcher` is the
edge that pages through the APIs with boto3.

Reserved prices: for each term length the catalog takes the *standard* offering class with the
first purchase option available in :data:`RESERVED_PURCHASE_OPTION_PREFERENCE` (No Upfront, then
Partial Upfront, then All Upfront), folding any upfront fee into the hourly rate
(:func:`effective_hourly_rate`). Convertible terms are used only when no standard term is listed.
The ``notes`` column records which option was taken.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timezone
from typing import Any

from cost_models.fetchers._base import FetchScope, PriceFetcher, register_price_fetcher
from cost_models.fetchers._errors import PriceFetchError
from cost_models.fetchers._fetched_offer import FetchedOffer
from cost_models.fetchers._http import REFRESH_DEADLINE_S, Deadline
from cost_models.fetchers._reservation_rates import effective_hourly_rate
from cost_models.fetchers.providers._aws_gpu_models import aws_gpu_model

PRICE_LIST_SOURCE = "AWS Price List API get_products"
SPOT_SOURCE = "EC2 describe_spot_price_history"

# The host every catalog row describes: Linux, shared tenancy, no pre-installed software, and a
# running ("Used") instance rather than an unused reservation or a dedicated host.
PRODUCT_TERM_FILTERS: tuple[tuple[str, str], ...] = (
    ("operatingSystem", "Linux"),
    ("tenancy", "Shared"),
    ("preInstalledSw", "NA"),
    ("capacitystatus", "Used"),
)
CAPACITY_BLOCK_MARKET_OPTION = "CapacityBlock"
"""Capacity Blocks are prepaid fixed windows: their rows are not on-demand prices."""

RESERVED_OFFERING_CLASS_PREFERENCE: tuple[str, ...] = ("standard", "convertible")
RESERVED_PURCHASE_OPTION_PREFERENCE: tuple[str, ...] = (
    "No Upfront",
    "Partial Upfront",
    "All Upfront",
)
_LEASE_YEARS = {"1yr": 1, "3yr": 3}
SPOT_PRODUCT_DESCRIPTION = "Linux/UNIX"

# ---------------------------------------------------------------------------------------------
# Pure parsing of API answers
# ---------------------------------------------------------------------------------------------


def parse_aws_products(
    price_list_items: Iterable[str | Mapping[str, Any]],
    *,
    price_date: date,
    source: str = PRICE_LIST_SOURCE,
) -> list[FetchedOffer]:
    """Offers (USD per instance-hour) from ``get_products`` PriceList items.

    Items may be the API's JSON strings or already-decoded dicts. Items that are not a Linux,
    shared-tenancy, used-capacity instance, and Capacity Block items, are skipped. A price the
    item does not carry is left None and named in ``notes``. When several items describe the
    same offer, each price column keeps the lowest price found.
    """
    rows_by_key: dict[tuple[str, str], FetchedOffer] = {}
    for index, raw_item in enumerate(price_list_items):
        item = _decode_item(raw_item, index)
        row = _row_from_item(item, price_date=price_date, source=f"{source} {price_date}")
        if row is None:
            continue
        previous = rows_by_key.get((row.instance_type, row.region))
        rows_by_key[(row.instance_type, row.region)] = (
            row if previous is None else _cheapest_of(previous, row)
        )
    return list(rows_by_key.values())


def cheapest_latest_spot_prices(
    spot_price_history: Iterable[Mapping[str, Any]],
) -> dict[str, float]:
    """USD per instance-hour by instance type: the cheapest zone among each zone's latest price.

    ``spot_price_history`` holds ``SpotPriceHistory`` entries of one region. Entries for other
    products than Linux/UNIX, or without a price, are ignored.
    """
    latest_by_zone: dict[tuple[str, str], tuple[datetime, float]] = {}
    for entry in spot_price_history:
        if entry.get("ProductDescription", SPOT_PRODUCT_DESCRIPTION) != SPOT_PRODUCT_DESCRIPTION:
            continue
        price = _as_price(entry.get("SpotPrice"))
        instance_type, zone, stamp = (
            entry.get("InstanceType"),
            entry.get("AvailabilityZone"),
            entry.get("Timestamp"),
        )
        if not price or not instance_type or not zone or not isinstance(stamp, datetime):
            continue
        seen = latest_by_zone.get((instance_type, zone))
        if seen is None or stamp > seen[0]:
            latest_by_zone[(instance_type, zone)] = (stamp, price)
    cheapest: dict[str, float] = {}
    for (instance_type, _zone), (_stamp, price) in latest_by_zone.items():
        cheapest[instance_type] = min(price, cheapest.get(instance_type, price))
    return cheapest


def with_spot_prices(
    rows: Iterable[FetchedOffer], spot_usd_by_offer: Mapping[tuple[str, str], float]
) -> list[FetchedOffer]:
    """``rows`` with ``spot_per_hour`` set from ``{(instance_type, region): USD per hour}``."""
    updated = []
    for row in rows:
        spot = spot_usd_by_offer.get((row.instance_type, row.region))
        if spot is None:
            updated.append(row)
            continue
        notes = "; ".join(filter(None, (row.notes, "spot: cheapest zone's latest price")))
        updated.append(
            dataclasses.replace(
                row, spot_per_hour=spot, source=f"{row.source} + {SPOT_SOURCE}", notes=notes
            )
        )
    return updated


def _decode_item(raw_item: str | Mapping[str, Any], index: int) -> Mapping[str, Any]:
    if not isinstance(raw_item, str):
        return raw_item
    try:
        decoded = json.loads(raw_item)
    except json.JSONDecodeError as exc:
        raise PriceFetchError(
            f"AWS Price List item {index} is not valid JSON ({exc.msg} at char {exc.pos})"
        ) from None
    if not isinstance(decoded, dict):
        raise PriceFetchError(
            f"AWS Price List item {index} must be a JSON object, got {decoded!r:.60}"
        )
    return decoded


def _row_from_item(
    item: Mapping[str, Any], *, price_date: date, source: str
) -> FetchedOffer | None:
    attributes = (item.get("product") or {}).get("attributes") or {}
    instance_type, region = attributes.get("instanceType"), attributes.get("regionCode")
    if not instance_type or not region or not _is_running_linux_host(attributes):
        return None
    terms = item.get("terms") or {}
    notes: list[str] = []

    on_demand_usd = _on_demand_hourly_usd(terms.get("OnDemand") or {})
    if on_demand_usd is None:
        notes.append("no on-demand price in the API answer")
    reserved_usd: dict[int, float | None] = {}
    for years in (1, 3):
        choice = _reserved_choice(terms.get("Reserved") or {}, years)
        reserved_usd[years] = None if choice is None else choice[0]
        if choice is not None:
            notes.append(f"RI {years}y: {choice[1]}")

    return FetchedOffer(
        provider="aws",
        instance_type=instance_type,
        region=region,
        currency="USD",
        price_date=price_date,
        source=source,
        gpu_model=aws_gpu_model(instance_type),
        gpu_count=_as_int(attributes.get("gpu")),
        vcpus=_as_price(attributes.get("vcpu")),
        ram_gib=_gib(attributes.get("memory")),
        on_demand_per_hour=on_demand_usd,
        reserved_1y_per_hour=reserved_usd[1],
        reserved_3y_per_hour=reserved_usd[3],
        notes="; ".join(notes),
    )


def _is_running_linux_host(attributes: Mapping[str, Any]) -> bool:
    if attributes.get("marketoption") == CAPACITY_BLOCK_MARKET_OPTION:
        return False
    return all(attributes.get(field, value) == value for field, value in PRODUCT_TERM_FILTERS)


def _on_demand_hourly_usd(on_demand_terms: Mapping[str, Any]) -> float | None:
    prices = [
        _as_price((dimension.get("pricePerUnit") or {}).get("USD"))
        for term in on_demand_terms.values()
        for dimension in (term.get("priceDimensions") or {}).values()
        if dimension.get("unit") == "Hrs"
    ]
    # A listed 0.00 USD/h means "not sold on demand" (e.g. p5e, Capacity Blocks only).
    positive = [price for price in prices if price]
    return min(positive) if positive else None


def _reserved_choice(reserved_terms: Mapping[str, Any], years: int) -> tuple[float, str] | None:
    """(effective USD per hour, description) of the preferred reserved term of ``years``."""
    offered: dict[tuple[str, str], float] = {}
    for term in reserved_terms.values():
        attrs = term.get("termAttributes") or {}
        if _LEASE_YEARS.get(attrs.get("LeaseContractLength", "")) != years:
            continue
        rate = _reserved_effective_usd(term.get("priceDimensions") or {}, years)
        if rate is not None:
            offered[(attrs.get("OfferingClass", ""), attrs.get("PurchaseOption", ""))] = rate
    for offering_class in RESERVED_OFFERING_CLASS_PREFERENCE:
        for purchase_option in RESERVED_PURCHASE_OPTION_PREFERENCE:
            rate = offered.get((offering_class, purchase_option))
            if rate is not None:
                folded = "" if purchase_option == "No Upfront" else ", upfront folded in"
                return rate, f"{offering_class} {purchase_option}{folded}"
    return None


def _reserved_effective_usd(dimensions: Mapping[str, Any], years: int) -> float | None:
    hourly_usd = upfront_usd = None
    for dimension in dimensions.values():
        price = _as_price((dimension.get("pricePerUnit") or {}).get("USD"))
        if dimension.get("unit") == "Hrs":
            hourly_usd = price
        elif dimension.get("unit") == "Quantity":
            upfront_usd = price
    if hourly_usd is None:
        return None
    rate = effective_hourly_rate(hourly_fee=hourly_usd, term_fee=upfront_usd or 0.0, years=years)
    return rate if rate > 0 else None


def _cheapest_of(first: FetchedOffer, second: FetchedOffer) -> FetchedOffer:
    lowest: dict[str, Any] = {}
    for column, price in first.prices().items():
        candidates = [p for p in (price, getattr(second, column)) if p is not None]
        lowest[column] = min(candidates) if candidates else None
    return dataclasses.replace(first, **lowest)


def _as_price(text: object) -> float | None:
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _as_int(text: object) -> int | None:
    price = _as_price(text)
    return None if price is None else int(price)


def _gib(text: object) -> float | None:
    """'2,048 GiB' → 2048.0."""
    if not isinstance(text, str):
        return None
    return _as_price(text.replace("GiB", "").replace(",", "").strip())


# ---------------------------------------------------------------------------------------------
# The edge: paging through the APIs
# ---------------------------------------------------------------------------------------------

_NO_CREDENTIALS = (
    "no AWS credentials found (the Price List API needs them, any account works): run "
    "`aws configure`, or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


@register_price_fetcher
class AwsPriceFetcher(PriceFetcher):
    """On-demand and reserved prices from the Price List API, spot from EC2 spot history.

    ``pricing_client`` and ``ec2_client_for_region`` replace the boto3 clients (tests pass
    clients wrapped in botocore's ``Stubber``); ``endpoint_url`` points the pricing client
    elsewhere. ``now`` gives the instant whose spot prices are read. One refresh must end within
    ``deadline_s`` (checked before every page); each call is retried by botocore's ``standard``
    mode (throttling, 5xx, dropped connections: up to ``MAX_ATTEMPTS`` tries with backoff) with
    bounded connect and read timeouts.
    """

    provider = "aws"
    api_name = "AWS Price List API"

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        pricing_client: Any = None,
        ec2_client_for_region: Callable[[str], Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        deadline_s: float = REFRESH_DEADLINE_S,
    ) -> None:
        super().__init__(endpoint_url=endpoint_url)
        self._pricing_client = pricing_client
        self._ec2_client_for_region = ec2_client_for_region
        self._now = now
        self._deadline_s = deadline_s

    def fetch_rows(self, scope: FetchScope) -> list[FetchedOffer]:
        deadline = Deadline.after(self._deadline_s)  # every call and page of this refresh
        pricing = self._pricing_client or self._boto3_client("pricing", "us-east-1")
        items: list[str] = []
        for region in scope.regions:
            for instance_type in scope.instance_types:
                items.extend(self._price_list_items(pricing, instance_type, region, deadline))
        rows = parse_aws_products(items, price_date=scope.price_date)
        spot_usd: dict[tuple[str, str], float] = {}
        for region in sorted({row.region for row in rows}):
            spot = self._spot_usd(region, scope.instance_types, deadline)
            for instance_type, usd in spot.items():
                spot_usd[(instance_type, region)] = usd
        return with_spot_prices(rows, spot_usd)

    def _price_list_items(
        self, pricing: Any, instance_type: str, region: str, deadline: Deadline
    ) -> list[str]:
        filters = [
            {"Type": "TERM_MATCH", "Field": field, "Value": value}
            for field, value in (
                ("instanceType", instance_type),
                ("regionCode", region),
                *PRODUCT_TERM_FILTERS,
            )
        ]
        pages = pricing.get_paginator("get_products").paginate(
            ServiceCode="AmazonEC2",
            FormatVersion="aws_v1",
            Filters=filters,
            PaginationConfig={"PageSize": 100},
        )
        call = f"Price List get_products {instance_type} {region}"
        return _collect(pages, "PriceList", call, deadline)

    def _spot_usd(
        self, region: str, instance_types: tuple[str, ...], deadline: Deadline
    ) -> dict[str, float]:
        ec2 = (
            self._ec2_client_for_region(region)
            if self._ec2_client_for_region
            else self._boto3_client("ec2", region)
        )
        pages = ec2.get_paginator("describe_spot_price_history").paginate(
            InstanceTypes=list(instance_types),
            ProductDescriptions=[SPOT_PRODUCT_DESCRIPTION],
            StartTime=self._now(),
        )
        call = f"describe_spot_price_history in {region}"
        history = _collect(pages, "SpotPriceHistory", call, deadline)
        return cheapest_latest_spot_prices(history)

    def _boto3_client(self, service: str, region: str) -> Any:
        import boto3

        session = boto3.Session()
        if session.get_credentials() is None:
            raise PriceFetchError(_NO_CREDENTIALS)
        endpoint = self.endpoint_url if service == "pricing" else None
        return session.client(
            service, region_name=region, endpoint_url=endpoint, config=_client_config()
        )


#: Tries of one AWS call (botocore's ``standard`` retry mode: throttling, 5xx, dropped
#: connections, with exponential backoff and jitter).
MAX_ATTEMPTS = 4
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0


def _client_config() -> Any:
    from botocore.config import Config

    return Config(
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
    )


def _collect(
    pages: Iterable[Mapping[str, Any]], key: str, call: str, deadline: Deadline | None = None
) -> list[Any]:
    """Every page's ``key`` list, each page asked for only while ``deadline`` has not passed;
    botocore errors become one-line :class:`PriceFetchError`."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    collected: list[Any] = []
    try:
        asked = iter(pages)  # a paginator asks for each page when the next one is wanted
        for number in itertools.count(1):
            if deadline is not None and deadline.remaining_s() <= 0:
                raise PriceFetchError(
                    f"AWS {call}: the refresh's deadline of {deadline.seconds:g} s passed "
                    f"before page {number}; refresh fewer instance types or regions at a time"
                )
            page = next(asked, None)
            if page is None:
                break
            collected.extend(page.get(key) or [])
    except NoCredentialsError:
        raise PriceFetchError(_NO_CREDENTIALS) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PriceFetchError(
            f"AWS {call} failed: {error.get('Code', 'error')}: {error.get('Message', exc)}"
        ) from None
    except BotoCoreError as exc:
        raise PriceFetchError(f"AWS {call} failed: {exc}") from None
    return collected
