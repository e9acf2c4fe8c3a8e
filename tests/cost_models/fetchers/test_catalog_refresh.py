"""A refresh: new dated file, specs completed from the previous catalog, diff, loadable output."""

from __future__ import annotations

from datetime import date

import pytest

from cost_models import CATALOG_COLUMNS, load_catalog
from cost_models.errors import CostModelError
from cost_models.fetchers import (
    AzurePriceFetcher,
    CatalogFileConflictError,
    FetchedOffer,
    PriceFetchError,
    WriteOutcome,
    complete_offers,
    refresh_catalog,
)

A100 = "Standard_NC24ads_A100_v4"
H100 = "Standard_ND96isr_H100_v5"
T4 = "Standard_NC4as_T4_v3"


@pytest.fixture
def azure_fetcher(azure_url):
    return AzurePriceFetcher(endpoint_url=azure_url, retry_delay_s=0)


def _refresh(fetcher, recordings, **options):
    options.setdefault("against", recordings.previous_catalog(fetcher.provider))
    return refresh_catalog(fetcher, today=recordings.price_date, **options)


def test_refresh_writes_a_new_dated_file_the_catalog_loader_reads(
    azure_fetcher, recordings, tmp_path
):
    result = _refresh(azure_fetcher, recordings)

    assert result.path == tmp_path / "cache" / "catalogs" / "v1" / "azure-2026-11-26.csv"
    assert result.outcome is WriteOutcome.WRITTEN
    assert result.path.read_text().splitlines()[0] == ",".join(CATALOG_COLUMNS)
    catalog = load_catalog(result.path)
    offers = {offer.instance_type: offer for offer in catalog.all_offers()}
    assert sorted(offers) == [A100, H100]
    a100 = offers[A100]
    assert (a100.gpu_model, a100.gpu_count, a100.gpu_memory_gib) == ("A100-80GB", 1, 80)
    assert (a100.vcpus, a100.ram_gib) == (24, 220)  # from the previous catalog
    assert a100.reserved_1y_per_hour == pytest.approx(2.29532, abs=1e-6)
    assert a100.price_date == "2026-11-26"
    assert a100.source == "Azure Retail Prices API 2023-01-01-preview 2026-11-26"


def test_refresh_scope_defaults_to_the_previous_catalog(azure_fetcher, azure_server, recordings):
    result = _refresh(azure_fetcher, recordings)
    assert result.scope.instance_types == (A100, T4, H100)
    assert result.scope.regions == ("eastus",)
    assert result.instance_types_without_prices == (T4,)


def test_refresh_scope_defaults_to_the_bundled_catalog(azure_fetcher, recordings, monkeypatch):
    monkeypatch.setattr(
        "cost_models.fetchers._refresh.bundled_catalog_path",
        lambda provider: recordings.previous_catalog(provider),
    )
    result = refresh_catalog(azure_fetcher, today=recordings.price_date)
    assert result.compared_with == recordings.previous_catalog("azure")
    assert result.fetched_offers == 2


def test_the_real_bundled_catalog_sets_the_default_scope(azure_fetcher, recordings):
    result = refresh_catalog(azure_fetcher, today=recordings.price_date)
    assert result.compared_with is not None and result.compared_with.name == "azure.csv"
    assert A100 in result.scope.instance_types and "eastus" in result.scope.regions


def test_diff_shows_added_removed_and_changed_prices(azure_fetcher, recordings):
    diff = _refresh(azure_fetcher, recordings).diff

    assert [offer.instance_type for offer in diff.removed] == [T4]  # the API had no T4 prices
    assert diff.added == ()
    changes = {(change.key[1], change.column): change for change in diff.price_changes}
    assert list(changes) == [  # sorted by offer, then in catalog column order
        (A100, "reserved_1y_per_hour"),
        (A100, "reserved_3y_per_hour"),
        (H100, "spot_per_hour"),
        (H100, "reserved_1y_per_hour"),
    ]
    spot = changes[(H100, "spot_per_hour")]
    assert (spot.old, spot.new, spot.percent) == (98.32, None, None)
    assert changes[(A100, "reserved_1y_per_hour")].old is None


def test_offers_outside_the_requested_scope_are_carried_over(stubbed_aws, recordings):
    stubbed_aws.queue_us_east_1_refresh()

    result = _refresh(stubbed_aws.fetcher(), recordings, regions=["us-east-1"])

    stubbed_aws.assert_all_answers_used()
    assert result.carried_over_offers == 1  # g5.xlarge in eu-central-1, not refreshed
    offers = {(o.instance_type, o.region): o for o in load_catalog(result.path).all_offers()}
    assert offers[("g5.xlarge", "eu-central-1")].price_date == "2025"
    assert offers[("g5.xlarge", "us-east-1")].price_date == "2026-11-26"
    assert offers[("p5en.48xlarge", "us-east-1")].on_demand_per_hour is None
    assert offers[("p5en.48xlarge", "us-east-1")].notes == (
        "no on-demand price in the API answer; spot: cheapest zone's latest price"
    )
    assert [o.instance_type for o in result.diff.removed] == ["p4d.24xlarge"]
    p5_spot = next(
        c
        for c in result.diff.price_changes
        if c.key[1] == "p5.48xlarge" and c.column == "spot_per_hour"
    )
    assert (p5_spot.old, p5_spot.new) == (20.99, 22.0)
    assert p5_spot.percent == pytest.approx(4.812, abs=1e-3)


def test_same_prices_again_leave_the_file_unchanged(azure_fetcher, recordings):
    first = _refresh(azure_fetcher, recordings)
    second = _refresh(azure_fetcher, recordings)
    assert second.path == first.path
    assert second.outcome is WriteOutcome.UNCHANGED


def test_refresh_refuses_to_overwrite_a_file_the_user_edited(azure_fetcher, recordings):
    first = _refresh(azure_fetcher, recordings)
    edited = first.path.read_text().replace("3.673", "3.5")
    first.path.write_text(edited)

    with pytest.raises(CatalogFileConflictError, match=r"was edited after sweeper wrote it"):
        _refresh(azure_fetcher, recordings, force=True)

    assert first.path.read_text() == edited


def test_refresh_needs_force_to_replace_its_own_earlier_file(
    azure_fetcher, recordings, azure_server
):
    first = _refresh(azure_fetcher, recordings, instance_types=[A100])
    with pytest.raises(CatalogFileConflictError, match=r"pass --force to replace it"):
        _refresh(azure_fetcher, recordings)

    replaced = _refresh(azure_fetcher, recordings, force=True)

    assert replaced.path == first.path and replaced.outcome is WriteOutcome.REPLACED
    assert {o.instance_type for o in load_catalog(first.path).all_offers()} == {A100, H100}


def test_out_path_may_be_a_file_or_a_directory(azure_fetcher, recordings, tmp_path):
    as_file = _refresh(azure_fetcher, recordings, out_path=tmp_path / "mine.csv")
    as_dir = _refresh(azure_fetcher, recordings, out_path=tmp_path)
    assert as_file.path == tmp_path / "mine.csv"
    assert as_dir.path == tmp_path / "azure-2026-11-26.csv"


def test_no_prices_at_all_writes_nothing_and_suggests_a_name(azure_fetcher, recordings, tmp_path):
    with pytest.raises(PriceFetchError) as caught:
        _refresh(azure_fetcher, recordings, instance_types=["Standard_NC24ads_A100_v5"])
    message = str(caught.value)
    assert (
        "returned no prices for Standard_NC24ads_A100_v5 in eastus; nothing was written." in message
    )
    assert f"Did you mean '{A100}'" in message
    assert not (tmp_path / "cache").exists()


def test_without_a_previous_catalog_the_scope_must_be_named(
    azure_fetcher, recordings, monkeypatch, tmp_path
):
    monkeypatch.setattr(
        "cost_models.fetchers._refresh.bundled_catalog_path", lambda provider: tmp_path / "none.csv"
    )
    with pytest.raises(
        CostModelError, match=r"there is no bundled azure catalog; name them with --instance-type"
    ):
        refresh_catalog(azure_fetcher, today=recordings.price_date)

    # Named, they are fetched; but Azure gives no specs, and no catalog knows this VM's GPU.
    with pytest.raises(PriceFetchError, match=rf"priced {A100}, but their GPU is unknown"):
        refresh_catalog(
            azure_fetcher, instance_types=[A100], regions=["eastus"], today=recordings.price_date
        )


def _fetched(instance_type: str, **fields) -> FetchedOffer:
    return FetchedOffer(
        provider="aws",
        instance_type=instance_type,
        region="us-east-1",
        currency="USD",
        price_date=date(2026, 11, 26),
        source="test",
        on_demand_per_hour=1.0,
        **fields,
    )


def test_complete_offers_takes_gpu_memory_from_the_gpu_table_for_new_types():
    (offer,), incomplete = complete_offers(
        [_fetched("p5en.48xlarge", gpu_model="H200", gpu_count=8, vcpus=192, ram_gib=2048)], []
    )
    assert incomplete == []
    assert (offer.gpu_model, offer.gpu_count, offer.gpu_memory_gib) == ("H200", 8, 141)


def test_complete_offers_leaves_out_rows_whose_gpu_is_unknown():
    row = _fetched("x9.large", gpu_count=1)
    assert complete_offers([row], []) == ([], [row])


def test_complete_offers_says_why_on_demand_is_empty():
    row = _fetched("g5.xlarge", gpu_model="A10G", gpu_count=1)
    (offer,), _ = complete_offers(
        [FetchedOffer(**{**row.__dict__, "on_demand_per_hour": None})], []
    )
    assert offer.notes == "no on-demand price in the API answer"
