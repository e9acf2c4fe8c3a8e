"""Catalogs as data: bundled content, provenance on every row, and clear errors for bad files."""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import pytest

from cost_models import (
    CATALOG_COLUMNS,
    CATALOG_SCHEMA_VERSION,
    Catalog,
    CatalogError,
    CatalogSchemaError,
    Offer,
    PriceUnknownError,
    UnknownGpuError,
    UnknownInstanceError,
    UnknownProviderError,
    UnknownRegionError,
    eur_per_hour,
    load_catalog,
    load_gpu_specs,
)
from cost_models._tables import bundled_data_path

BUNDLED = bundled_data_path("catalogs", "v1")
HEADER = (
    "provider,instance_type,region,gpu_model,gpu_count,gpu_memory_gib,vcpus,ram_gib,currency,"
    "on_demand_per_hour,spot_per_hour,reserved_1y_per_hour,reserved_3y_per_hour,price_date,source,notes"
)
GOOD_ROW = "acme,gpu-1,eu-west-1,A100-80GB,1,80,8,64,USD,2.0,1.0,,,2026-07-09,test fixture,\n"


def write(tmp_path: Path, body: str, name: str = "acme.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + "\n" + body, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- bundled content


def test_schema_version_is_pinned_and_header_is_the_contract() -> None:
    assert CATALOG_SCHEMA_VERSION == 1
    assert ",".join(CATALOG_COLUMNS) == HEADER
    for path in BUNDLED.glob("*.csv"):
        assert path.read_text(encoding="utf-8").splitlines()[0] == HEADER, path.name


def test_bundled_catalog_covers_required_providers_gpus_and_eu(catalog: Catalog) -> None:
    assert set(catalog.providers) >= {"aws", "azure", "gcp", "lambda", "runpod"}
    assert {p.stem for p in catalog.paths} == {"aws", "azure", "gcp", "lambda", "runpod"}
    assert set(catalog.gpu_models) >= {"T4", "L4", "A100-40GB", "A100-80GB", "H100", "H200"}
    eu = [o for o in catalog.all_offers() if o.region.lower().startswith(("eu", "europe"))]
    assert {o.provider for o in eu} >= {"aws", "gcp", "lambda", "runpod"}


def test_every_row_has_source_date_currency_and_gpu_spec(catalog: Catalog) -> None:
    specs = load_gpu_specs()
    for offer in catalog.all_offers():
        assert offer.source and offer.price_date and offer.currency == "USD", offer.label
        assert offer.gpu_model in specs, offer.label
        assert offer.gpu_count >= 1 and offer.gpu_memory_gib > 0


def test_unknown_prices_are_empty_never_zero_and_explained(catalog: Catalog) -> None:
    for offer in catalog.all_offers():
        for pricing in ("on_demand", "spot", "reserved_1y", "reserved_3y"):
            price = offer.price_per_hour(pricing)
            assert price is None or price > 0, offer.label
        if offer.on_demand_per_hour is None:
            assert offer.notes, offer.label
    # Known gaps stay gaps: no on-demand for p5e (Capacity Blocks), no Azure H100 spot placeholder.
    assert catalog.offer("p5e.48xlarge").on_demand_per_hour is None
    assert catalog.offer("Standard_ND96isr_H100_v5", region="eastus").spot_per_hour is None
    assert catalog.offer("Standard_ND96isr_H100_v5", region="eastus").gpu_count == 8


def test_offers_frame_has_exactly_the_schema_columns(catalog: Catalog) -> None:
    assert list(catalog.offers.columns) == list(CATALOG_COLUMNS)
    assert len(catalog.offers) == len(catalog.all_offers())
    row = catalog.offers[catalog.offers["instance_type"] == "p5e.48xlarge"].iloc[0]
    assert math.isnan(row["on_demand_per_hour"])


def test_reference_prices_are_in_the_catalog(catalog: Catalog) -> None:
    assert catalog.offer("Standard_NC24ads_A100_v4", region="eastus").on_demand_per_hour == 3.673
    assert catalog.offer("Standard_NC96ads_A100_v4").on_demand_per_hour == 14.692
    assert catalog.offer("gpu_1x_h100_sxm5", region="us-east-1").on_demand_per_hour == 3.29
    assert catalog.offer("g6.xlarge", region="us-east-1").on_demand_per_hour == 0.8048
    assert catalog.offer("p4de.24xlarge").reserved_1y_per_hour == 30.26
    gcp_l4 = catalog.offer("g2-standard-4", region="us-central1")
    assert gcp_l4.on_demand_per_hour == pytest.approx(0.14679 + 0.56004)
    assert "host" in gcp_l4.notes.lower()


def test_sha256_hashes_the_file_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ROW)
    first = load_catalog(path)
    expected = hashlib.sha256(path.name.encode() + b"\0" + path.read_bytes() + b"\0").hexdigest()
    assert first.sha256 == expected and first.paths == (path,) and first.version == 1
    write(tmp_path, GOOD_ROW.replace("2.0,", "2.5,", 1))
    assert load_catalog(path).sha256 != first.sha256


def test_load_a_folder_or_a_single_file(tmp_path: Path) -> None:
    folder = tmp_path / "v1"
    folder.mkdir()
    write(folder, GOOD_ROW, "a.csv")
    write(folder, GOOD_ROW.replace("acme", "beta"), "b.csv")
    assert load_catalog(folder).providers == ["acme", "beta"]
    assert load_catalog(folder / "a.csv").providers == ["acme"]
    assert len(load_catalog(BUNDLED / "azure.csv").providers) == 1


# ----------------------------------------------------------------------------- lookups


def test_offer_lookup_with_did_you_mean(catalog: Catalog) -> None:
    offer = catalog.offer("standard_nc24ads_a100_v4")
    assert isinstance(offer, Offer)
    assert offer.region == "eastus"  # the cheapest region when none is given
    with pytest.raises(
        UnknownInstanceError,
        match=r"Unknown instance 'Standard_NC24ads_A100'\. "
        r"Did you mean: Standard_NC24ads_A100_v4\?",
    ):
        catalog.offer("Standard_NC24ads_A100")
    with pytest.raises(UnknownProviderError, match="Did you mean: azure"):
        catalog.offer("Standard_NC24ads_A100_v4", provider="azur")
    with pytest.raises(UnknownRegionError, match="Unknown region 'westeurope'"):
        catalog.offer("Standard_NC24ads_A100_v4", region="westeurope")


def test_select_filters_and_errors(catalog: Catalog) -> None:
    eu_h100 = catalog.select(gpus=["h100"], regions=["eu*"])
    assert eu_h100 and all(o.gpu_model == "H100" for o in eu_h100)
    assert {o.region.lower()[:2] for o in eu_h100} == {"eu"}
    assert catalog.select(gpus=["B200"], known_gpus=load_gpu_specs()) == []
    with pytest.raises(
        UnknownGpuError, match=r"Unknown GPU 'A10O'\. Did you mean: A100-40GB, A100-80GB\?"
    ):
        catalog.select(gpus=["A10O"])
    with pytest.raises(UnknownRegionError, match=r"Did you mean: eu\*"):
        catalog.select(regions=["eu"])


def test_eur_per_hour_converts_once_and_names_missing_prices(catalog: Catalog, fx) -> None:
    offer = catalog.offer("Standard_NC24ads_A100_v4", region="eastus")
    assert eur_per_hour(offer, "on_demand", fx) == pytest.approx(3.673 / 1.1435)
    with pytest.raises(
        PriceUnknownError, match=r"1-year reserved price.*azure Standard_NC24ads_A100_v4 in eastus"
    ):
        eur_per_hour(offer, "reserved_1y", fx)


# ----------------------------------------------------------------------------- errors


def test_missing_catalog_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="must exist, but .*nope.csv.* was not found"):
        load_catalog(tmp_path / "nope.csv")


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="must contain \\*.csv files"):
        load_catalog(tmp_path)


def test_other_schema_version_folder(tmp_path: Path) -> None:
    folder = tmp_path / "v2"
    shutil.copytree(BUNDLED, folder)
    with pytest.raises(CatalogSchemaError, match="reads catalog schema v1, but .* holds schema v2"):
        load_catalog(folder)
    with pytest.raises(CatalogSchemaError, match="schema v2"):
        load_catalog(folder / "aws.csv")


def test_wrong_header_names_missing_and_unexpected_columns(tmp_path: Path) -> None:
    header = HEADER.replace("spot_per_hour", "spot_price")
    path = write(tmp_path, GOOD_ROW, header=header)
    with pytest.raises(CatalogSchemaError, match="missing: spot_per_hour; unexpected: spot_price"):
        load_catalog(path)


def test_skypilot_catalog_is_recognised(tmp_path: Path) -> None:
    header = (
        "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,"
        "Price,SpotPrice,Region,AvailabilityZone"
    )
    path = write(tmp_path, "p3.2xlarge,V100,1,8,61,,3.06,0.9,us-east-1,us-east-1a\n", header=header)
    with pytest.raises(CatalogSchemaError, match="looks like a SkyPilot catalog"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            GOOD_ROW.replace(",1,80,", ",one,80,"),
            "line 2, column 'gpu_count': must be a positive integer, but got 'one'",
        ),
        (
            GOOD_ROW.replace("2.0,1.0", "cheap,1.0"),
            "column 'on_demand_per_hour': must be a number, but got 'cheap'",
        ),
        (
            GOOD_ROW.replace("2.0,1.0", "0,1.0"),
            "column 'on_demand_per_hour': must be a positive number",
        ),
        (GOOD_ROW.replace("USD", "usd"), "column 'currency': must be an upper-case ISO 4217 code"),
        (GOOD_ROW.replace("2026-07-09", "July 2026"), "column 'price_date': must be an ISO date"),
        (GOOD_ROW.replace("test fixture", ""), "column 'source': must not be empty"),
        (
            GOOD_ROW.replace("2.0,1.0", ",1.0"),
            "column 'notes': must say why the on-demand price is empty",
        ),
        (
            GOOD_ROW.replace(",test fixture,", ",test fixture"),
            "a row must have 16 fields like the header, but has 15",
        ),
        (GOOD_ROW + GOOD_ROW, "line 3: provider, instance_type and region must be unique"),
    ],
)
def test_malformed_rows_name_file_line_column_and_value(
    tmp_path: Path, row: str, message: str
) -> None:
    path = write(tmp_path, row)
    with pytest.raises(CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_catalog(path)
    assert "acme.csv" in str(info.value)


def test_reduced_precision_price_dates_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD_ROW.replace("2026-07-09", "2025")
        + GOOD_ROW.replace("2026-07-09", "2026-07").replace("gpu-1", "gpu-2"),
    )
    assert load_catalog(path).price_dates() == ["2025", "2026-07"]
