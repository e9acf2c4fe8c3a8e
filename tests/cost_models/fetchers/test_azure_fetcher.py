"""Azure: Retail Prices items → rows (pure), and the fetcher against a local HTTP server."""

from __future__ import annotations

import socket
import urllib.parse

import pytest

from cost_models.fetchers import (
    AzurePriceFetcher,
    FetchScope,
    PriceFetchError,
    parse_azure_items,
    price_fetcher_class,
)

A100 = "Standard_NC24ads_A100_v4"
H100 = "Standard_ND96isr_H100_v5"


def _a100_items(recordings):
    return recordings.azure_items(A100, "eastus", 0) + recordings.azure_items(A100, "eastus", 100)


# ---------------------------------------------------------------------------------------------
# parse_azure_items
# ---------------------------------------------------------------------------------------------


def test_consumption_spot_and_reservation_items_become_one_row(recordings):
    (row,) = parse_azure_items(_a100_items(recordings), price_date=recordings.price_date)

    assert (row.provider, row.instance_type, row.region, row.currency) == (
        "azure",
        A100,
        "eastus",
        "USD",
    )
    assert row.on_demand_per_hour == 3.673  # not the Windows item's 4.409
    assert row.spot_per_hour == 0.444  # not Low Priority's 0.7346 nor Windows spot's 0.517
    assert row.source == "Azure Retail Prices API 2023-01-01-preview 2026-11-26"
    assert row.notes == ""


def test_reservation_retail_price_is_the_total_for_the_term(recordings):
    (row,) = parse_azure_items(_a100_items(recordings), price_date=recordings.price_date)
    assert row.reserved_1y_per_hour == pytest.approx(20107.0 / 8760, abs=1e-6)  # 2.295320
    assert row.reserved_3y_per_hour == pytest.approx(38620.0 / (3 * 8760), abs=1e-6)  # 1.469559


def test_dev_test_items_are_skipped(recordings):
    items = [item for item in _a100_items(recordings) if item["type"] == "DevTestConsumption"]
    assert items and parse_azure_items(items, price_date=recordings.price_date) == []


def test_missing_retail_price_leaves_the_price_unknown_and_says_so(recordings):
    (row,) = parse_azure_items(
        recordings.azure_items(H100, "eastus"), price_date=recordings.price_date
    )
    assert row.on_demand_per_hour == 98.32
    assert row.spot_per_hour is None
    assert row.notes == "spot item without a positive retailPrice"
    assert row.reserved_1y_per_hour == pytest.approx(60.958904, abs=1e-6)
    assert row.reserved_3y_per_hour is None


def test_items_without_sku_or_region_are_skipped(recordings):
    items = recordings.azure_items(H100, "eastus")
    del items[0]["armSkuName"]
    del items[2]["armRegionName"]
    (row,) = parse_azure_items(items, price_date=recordings.price_date)
    assert row.on_demand_per_hour is None and row.reserved_1y_per_hour is None


def test_eur_items_give_eur_rows(recordings):
    items = recordings.azure_items(H100, "eastus")
    for item in items:
        item["currencyCode"] = "EUR"
    (row,) = parse_azure_items(items, price_date=recordings.price_date)
    assert row.currency == "EUR"


# ---------------------------------------------------------------------------------------------
# AzurePriceFetcher against a local server
# ---------------------------------------------------------------------------------------------


def _scope(recordings, *vm_sizes):
    return FetchScope(vm_sizes, ("eastus",), recordings.price_date)


def test_fetcher_follows_next_page_link(azure_server, azure_url, recordings):
    fetcher = AzurePriceFetcher(endpoint_url=azure_url, retry_delay_s=0)

    rows = {row.instance_type: row for row in fetcher.fetch_rows(_scope(recordings, A100, H100))}

    assert rows[A100].reserved_3y_per_hour == pytest.approx(1.469559, abs=1e-6)  # from page 2
    assert rows[H100].on_demand_per_hour == 98.32
    queries = [
        dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r).query)) for r in azure_server.requests
    ]
    assert [q.get("$skip") for q in queries] == [None, "100", None]
    assert queries[0]["api-version"] == "2023-01-01-preview"
    assert queries[0]["$filter"] == (
        "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus' "
        f"and armSkuName eq '{A100}'"
    )


def test_throttled_page_is_retried(azure_server, azure_url, recordings):
    azure_server.fail_next = [429]
    fetcher = AzurePriceFetcher(endpoint_url=azure_url, retry_delay_s=0)

    (row,) = fetcher.fetch_rows(_scope(recordings, H100))

    assert row.on_demand_per_hour == 98.32
    assert len(azure_server.requests) == 2


def test_server_error_after_the_retries_is_one_clear_line(azure_server, azure_url, recordings):
    azure_server.fail_next = [500] * 4
    fetcher = AzurePriceFetcher(endpoint_url=azure_url, retry_delay_s=0)

    with pytest.raises(PriceFetchError) as caught:
        fetcher.fetch_rows(_scope(recordings, H100))

    message = str(caught.value)
    assert message.startswith(
        "Azure Retail Prices API answered HTTP 500 (Internal Server Error) after 4 tries for "
        f"{azure_url}?api-version=2023-01-01-preview"
    )
    assert message.endswith(": busy") and "\n" not in message


def test_answer_that_is_not_json_is_a_clear_error(local_server, recordings):
    local_server.route = lambda path, query: (200, {}, b"<html>maintenance</html>")
    fetcher = AzurePriceFetcher(endpoint_url=local_server.base_url + "/prices")
    with pytest.raises(PriceFetchError, match=r"answered something that is not JSON .*maintenance"):
        fetcher.fetch_rows(_scope(recordings, H100))


def test_answer_without_items_is_a_clear_error(local_server, recordings):
    local_server.route = lambda path, query: (200, {}, b'{"Count": 0}')
    fetcher = AzurePriceFetcher(endpoint_url=local_server.base_url + "/prices")
    with pytest.raises(PriceFetchError, match=r"has no 'Items' list"):
        fetcher.fetch_rows(_scope(recordings, H100))


def test_next_page_link_that_loops_is_an_error(local_server, recordings):
    url = local_server.base_url + "/prices"
    local_server.route = lambda path, query: (
        200,
        {},
        f'{{"Items": [], "NextPageLink": "{url}?page=2"}}'.encode(),
    )
    fetcher = AzurePriceFetcher(endpoint_url=url)
    with pytest.raises(PriceFetchError, match=r"pagination does not end"):
        fetcher.fetch_rows(_scope(recordings, H100))


def test_unreachable_endpoint_says_where_it_tried(recordings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fetcher = AzurePriceFetcher(endpoint_url=f"http://127.0.0.1:{port}/prices")
    with pytest.raises(
        PriceFetchError,
        match=rf"cannot reach Azure Retail Prices API at http://127.0.0.1:{port}/prices\?",
    ):
        fetcher.fetch_rows(_scope(recordings, H100))


def contract_case(request):
    """The fetcher contract's case (test_fetcher_contract.py): two SKUs in eastus."""
    azure_url = request.getfixturevalue("azure_url")
    recordings = request.getfixturevalue("recordings")
    fetcher = price_fetcher_class("azure")(endpoint_url=azure_url)
    scope = FetchScope(
        ("Standard_NC24ads_A100_v4", "Standard_ND96isr_H100_v5"), ("eastus",), recordings.price_date
    )
    return fetcher, scope
