"""AWS: Price List items → rows (pure), and the fetcher against Stubber-served recordings."""

from __future__ import annotations

import copy

import pytest

from cost_models.fetchers import (
    AwsPriceFetcher,
    FetchScope,
    PriceFetchError,
    cheapest_latest_spot_prices,
    parse_aws_products,
)


def _rows_by_type(rows):
    return {row.instance_type: row for row in rows}


# ---------------------------------------------------------------------------------------------
# parse_aws_products
# ---------------------------------------------------------------------------------------------


def test_capacity_block_items_are_not_on_demand_prices(recordings):
    items = recordings.aws_items("p5.48xlarge", "us-east-1", page=1) + recordings.aws_items(
        "p5.48xlarge", "us-east-1", page=2
    )
    assert items[1]["product"]["attributes"]["marketoption"] == "CapacityBlock"

    rows = parse_aws_products(items, price_date=recordings.price_date)

    assert len(rows) == 1
    assert rows[0].on_demand_per_hour == 98.32  # not the Capacity Block's 39.33


def test_capacity_block_item_alone_gives_no_row(recordings):
    items = recordings.aws_items("p5.48xlarge", "us-east-1", page=2)
    assert parse_aws_products(items, price_date=recordings.price_date) == []


def test_reserved_prefers_standard_no_upfront_and_folds_upfront_fees_otherwise(recordings):
    rows = parse_aws_products(
        recordings.aws_items("p5.48xlarge", "us-east-1")
        + recordings.aws_items("g5.xlarge", "us-east-1"),
        price_date=recordings.price_date,
    )
    p5, g5 = _rows_by_type(rows)["p5.48xlarge"], _rows_by_type(rows)["g5.xlarge"]

    # 1 yr: standard No Upfront (61.9416/h) wins over Partial Upfront.
    assert p5.reserved_1y_per_hour == 61.9416
    # 3 yr: only standard Partial Upfront: 19.664/h + 516,754 USD / (8760 h × 3); the
    # convertible No Upfront term (50.0/h) is not used while a standard one exists.
    assert p5.reserved_3y_per_hour == pytest.approx(19.664 + 516754 / 26280, abs=1e-6)
    assert p5.reserved_3y_per_hour == pytest.approx(39.327394, abs=1e-6)
    # g5 1 yr All Upfront: 0/h + 5,523 USD / 8760 h.
    assert g5.reserved_1y_per_hour == pytest.approx(0.630479, abs=1e-6)
    assert g5.reserved_3y_per_hour == 0.438
    assert "RI 1y: standard No Upfront" in p5.notes
    assert "RI 3y: standard Partial Upfront, upfront folded in" in p5.notes


def test_convertible_terms_are_used_only_without_a_standard_term(recordings):
    item = recordings.aws_items("p5.48xlarge", "us-east-1")[0]
    item["terms"]["Reserved"] = {
        key: term
        for key, term in item["terms"]["Reserved"].items()
        if term["termAttributes"]["OfferingClass"] == "convertible"
    }
    (row,) = parse_aws_products([item], price_date=recordings.price_date)
    assert row.reserved_3y_per_hour == 50.0
    assert row.reserved_1y_per_hour is None


def test_row_carries_specs_currency_date_and_source(recordings):
    (row,) = parse_aws_products(
        recordings.aws_items("p5.48xlarge", "us-east-1"), price_date=recordings.price_date
    )
    assert (row.provider, row.instance_type, row.region) == ("aws", "p5.48xlarge", "us-east-1")
    assert (row.gpu_model, row.gpu_count) == ("H100", 8)
    assert row.gpu_memory_gib is None  # the API does not say; the refresh takes the GPU table's
    assert (row.vcpus, row.ram_gib) == (192, 2048.0)
    assert row.currency == "USD"
    assert row.price_date == recordings.price_date
    assert row.source == "AWS Price List API get_products 2026-11-26"


def test_p5en_is_named_h200_although_aws_reports_nvidia(recordings):
    (row,) = parse_aws_products(
        recordings.aws_items("p5en.48xlarge", "us-east-1"), price_date=recordings.price_date
    )
    assert row.gpu_model == "H200"


def test_missing_price_field_leaves_the_price_unknown_and_says_so(recordings):
    items = recordings.aws_items("p5en.48xlarge", "us-east-1")
    dimension = next(
        iter(next(iter(items[0]["terms"]["OnDemand"].values()))["priceDimensions"].values())
    )
    assert "pricePerUnit" not in dimension

    (row,) = parse_aws_products(items, price_date=recordings.price_date)

    assert row.on_demand_per_hour is None
    assert row.reserved_1y_per_hour is None and row.reserved_3y_per_hour is None
    assert "no on-demand price in the API answer" in row.notes


def test_zero_on_demand_price_means_not_sold_on_demand(recordings):
    item = recordings.aws_items("g5.xlarge", "us-east-1")[0]
    for term in item["terms"]["OnDemand"].values():
        for dimension in term["priceDimensions"].values():
            dimension["pricePerUnit"] = {"USD": "0.0000000000"}
    (row,) = parse_aws_products([item], price_date=recordings.price_date)
    assert row.on_demand_per_hour is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("operatingSystem", "Windows"),
        ("tenancy", "Dedicated"),
        ("capacitystatus", "UnusedCapacityReservation"),
        ("preInstalledSw", "SQL Std"),
    ],
)
def test_items_for_other_hosts_are_skipped(recordings, field, value):
    item = recordings.aws_items("g5.xlarge", "us-east-1")[0]
    item["product"]["attributes"][field] = value
    assert parse_aws_products([item], price_date=recordings.price_date) == []


def test_item_without_instance_type_is_skipped(recordings):
    item = recordings.aws_items("g5.xlarge", "us-east-1")[0]
    del item["product"]["attributes"]["instanceType"]
    assert parse_aws_products([item], price_date=recordings.price_date) == []


def test_duplicate_items_keep_the_lowest_price_per_column(recordings):
    first = recordings.aws_items("g5.xlarge", "us-east-1")[0]
    second = copy.deepcopy(first)
    for term in second["terms"]["OnDemand"].values():
        for dimension in term["priceDimensions"].values():
            dimension["pricePerUnit"]["USD"] = "0.9000000000"
    (row,) = parse_aws_products([first, second], price_date=recordings.price_date)
    assert row.on_demand_per_hour == 0.9


def test_price_list_item_that_is_not_json_is_a_clear_error(recordings):
    with pytest.raises(PriceFetchError, match=r"AWS Price List item 1 is not valid JSON"):
        parse_aws_products(['{"product": {}}', '{"product": '], price_date=recordings.price_date)


# ---------------------------------------------------------------------------------------------
# cheapest_latest_spot_prices
# ---------------------------------------------------------------------------------------------


def test_spot_price_is_the_cheapest_zone_of_each_zones_latest_price(recordings):
    history = (
        recordings.aws_spot_page("us-east-1", 1)["SpotPriceHistory"]
        + recordings.aws_spot_page("us-east-1", 2)["SpotPriceHistory"]
    )
    # p5 in us-east-1a: 14.40 is older than 24.10, so 1b's 22.00 is the cheapest current price.
    # The SUSE Linux entry for g5 (0.10) is another product.
    assert cheapest_latest_spot_prices(history) == {
        "p5.48xlarge": 22.0,
        "g5.xlarge": 0.4012,
        "p5en.48xlarge": 24.29,
    }


def test_spot_entries_without_price_are_ignored(recordings):
    history = recordings.aws_spot_page("us-east-1", 1)["SpotPriceHistory"]
    history[2] = {k: v for k, v in history[2].items() if k != "SpotPrice"}
    assert cheapest_latest_spot_prices(history) == {"p5.48xlarge": 24.1}


# ---------------------------------------------------------------------------------------------
# AwsPriceFetcher against Stubber
# ---------------------------------------------------------------------------------------------


def test_fetcher_pages_through_products_and_spot_history(stubbed_aws, recordings):
    stubbed_aws.queue_us_east_1_refresh()
    scope = FetchScope(
        instance_types=tuple(stubbed_aws.us_east_1_types),
        regions=("us-east-1",),
        price_date=recordings.price_date,
    )

    rows = _rows_by_type(stubbed_aws.fetcher().fetch_rows(scope))

    stubbed_aws.assert_all_answers_used()  # both NextToken pages of each paginated call were read
    assert sorted(rows) == ["g5.xlarge", "p5.48xlarge", "p5en.48xlarge"]  # p4d: empty answer
    assert rows["p5.48xlarge"].on_demand_per_hour == 98.32
    assert rows["p5.48xlarge"].spot_per_hour == 22.0
    assert rows["g5.xlarge"].spot_per_hour == 0.4012
    assert rows["p5en.48xlarge"].spot_per_hour == 24.29
    assert rows["p5en.48xlarge"].on_demand_per_hour is None
    assert rows["g5.xlarge"].source == (
        "AWS Price List API get_products 2026-11-26 + EC2 describe_spot_price_history"
    )


def test_access_denied_is_one_clear_line(stubbed_aws, recordings):
    stubbed_aws.queue_error(
        "get_products",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: pricing:GetProducts",
    )
    scope = FetchScope(("p5.48xlarge",), ("us-east-1",), recordings.price_date)

    with pytest.raises(PriceFetchError) as caught:
        stubbed_aws.fetcher().fetch_rows(scope)

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "AWS Price List get_products p5.48xlarge us-east-1 failed: AccessDeniedException: "
    )
    assert "pricing:GetProducts" in message


def test_spot_history_error_names_the_region(stubbed_aws, recordings):
    stubbed_aws.queue_products("g5.xlarge", "us-east-1")
    stubbed_aws.queue_error("describe_spot_price_history", "UnauthorizedOperation", "not allowed")
    scope = FetchScope(("g5.xlarge",), ("us-east-1",), recordings.price_date)

    with pytest.raises(
        PriceFetchError,
        match=r"describe_spot_price_history in us-east-1 failed: "
        r"UnauthorizedOperation: not allowed",
    ):
        stubbed_aws.fetcher().fetch_rows(scope)


def test_missing_credentials_say_how_to_configure(recordings):
    scope = FetchScope(("g5.xlarge",), ("us-east-1",), recordings.price_date)
    with pytest.raises(PriceFetchError, match=r"no AWS credentials found.*aws configure"):
        AwsPriceFetcher().fetch_rows(scope)


def test_a_refresh_past_its_deadline_stops_before_the_next_page(stubbed_aws, recordings):
    """The deadline covers the whole refresh: no page is asked for once it has passed."""
    from cost_models.fetchers import AwsPriceFetcher

    stubbed_aws.queue_us_east_1_refresh()
    scope = FetchScope(
        instance_types=tuple(stubbed_aws.us_east_1_types),
        regions=("us-east-1",),
        price_date=recordings.price_date,
    )
    fetcher = AwsPriceFetcher(
        pricing_client=stubbed_aws.pricing,
        ec2_client_for_region=lambda region: stubbed_aws.ec2,
        now=lambda: recordings.spot_now,
        deadline_s=1e-9,  # passed before the first call
    )

    with pytest.raises(PriceFetchError) as caught:
        fetcher.fetch_rows(scope)

    message = str(caught.value)
    assert "\n" not in message
    assert "deadline of 1e-09 s passed before page 1" in message
    assert "get_products" in message


def test_boto3_clients_retry_and_time_out(monkeypatch):
    """Real clients are built with botocore's standard retries and bounded timeouts."""
    from cost_models.fetchers import AwsPriceFetcher
    from cost_models.fetchers.providers.aws import CONNECT_TIMEOUT_S, MAX_ATTEMPTS, READ_TIMEOUT_S

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = AwsPriceFetcher()._boto3_client("pricing", "us-east-1")
    config = client.meta.config
    assert config.retries["total_max_attempts"] == MAX_ATTEMPTS
    assert config.retries["mode"] == "standard"
    assert (config.connect_timeout, config.read_timeout) == (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)


def contract_case(request):
    """The fetcher contract's case (test_fetcher_contract.py): the us-east-1 recordings."""
    stubbed_aws = request.getfixturevalue("stubbed_aws")
    recordings = request.getfixturevalue("recordings")
    stubbed_aws.queue_us_east_1_refresh()
    scope = FetchScope(tuple(stubbed_aws.us_east_1_types), ("us-east-1",), recordings.price_date)
    return stubbed_aws.fetcher(), scope
