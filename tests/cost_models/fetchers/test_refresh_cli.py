"""``sweeper prices refresh``: what a user sees, against recorded answers only."""

from __future__ import annotations

import json
from datetime import date

import pytest
from botocore.stub import ANY

from cost_models.fetchers import AwsPriceFetcher


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "150")


@pytest.fixture
def refresh(run_cli):
    """``sweeper prices refresh <args>`` in-process → (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        result = run_cli("prices", "refresh", *args)
        return result.code, result.out, result.err

    return run


def test_azure_refresh_prints_what_changed(refresh, azure_url, recordings, tmp_path):
    code, out, err = refresh(
        "azure",
        "--endpoint-url",
        azure_url,
        "--against",
        str(recordings.previous_catalog("azure")),
    )

    assert code == 0, err
    today = date.today().isoformat()
    written = tmp_path / "cache" / "catalogs" / "v1" / f"azure-{today}.csv"
    assert written.exists()
    lines = out.splitlines()
    assert (
        lines[0]
        == f"azure: 2 offers priced, asked for 3 instance types in 1 region; prices of {today}"
    )
    assert lines[1] == f"wrote {written}"
    assert "no prices found for Standard_NC4as_T4_v3" in out
    assert "1 removed, 4 price changes, 0 unchanged" in out
    # An offer the refresh no longer found is listed, not silently dropped from the catalog.
    removed_table = out[out.index("Removed offers (per instance-hour)") :]
    assert "Standard_NC4as_T4_v3" in removed_table and "eastus" in removed_table
    assert "Price changes (per instance-hour)" in out
    spot_row = next(line for line in lines if "Standard_ND96isr_H100_v5" in line and "spot" in line)
    assert "98.3200 USD" in spot_row and "no price now" in spot_row
    reserved_row = next(line for line in lines if "A100" in line and "reserved 3y" in line)
    assert "1.4696 USD" in reserved_row and "new price" in reserved_row


def test_json_output_has_the_same_facts(refresh, azure_url, recordings):
    code, out, _ = refresh(
        "azure",
        "--endpoint-url",
        azure_url,
        "--json",
        "--against",
        str(recordings.previous_catalog("azure")),
    )
    assert code == 0
    report = json.loads(out)
    assert report["outcome"] == "written"
    assert report["instance_types_without_prices"] == ["Standard_NC4as_T4_v3"]
    assert [r["instance_type"] for r in report["removed"]] == ["Standard_NC4as_T4_v3"]
    spot = next(c for c in report["price_changes"] if c["column"] == "spot_per_hour")
    assert spot == {
        "provider": "azure",
        "instance_type": "Standard_ND96isr_H100_v5",
        "region": "eastus",
        "column": "spot_per_hour",
        "currency": "USD",
        "old": 98.32,
        "new": None,
        "percent": None,
    }


def test_aws_refresh_through_the_cli(refresh, monkeypatch, stubbed_aws, recordings):
    stubbed_aws.queue_us_east_1_refresh(spot_start_time=ANY)
    clients = {"pricing": stubbed_aws.pricing, "ec2": stubbed_aws.ec2}
    monkeypatch.setattr(
        AwsPriceFetcher, "_boto3_client", lambda self, service, region: clients[service]
    )

    code, out, err = refresh(
        "aws",
        "--region",
        "us-east-1",
        "--json",
        "--against",
        str(recordings.previous_catalog("aws")),
    )

    assert code == 0, err
    stubbed_aws.assert_all_answers_used()
    report = json.loads(out)
    assert report["carried_over_offers"] == 1
    on_demand = {
        c["instance_type"]: c
        for c in report["price_changes"]
        if c["column"] == "on_demand_per_hour"
    }
    assert on_demand["p5en.48xlarge"]["new"] is None  # the missing price field
    reserved = {
        c["instance_type"]: c["new"]
        for c in report["price_changes"]
        if c["column"] == "reserved_3y_per_hour"
    }
    assert reserved == {"g5.xlarge": 0.438, "p5.48xlarge": 39.327394}


def test_aws_without_credentials_is_one_line_and_exit_2(refresh):
    code, out, err = refresh("aws", "--region", "us-east-1", "--instance-type", "g5.xlarge")
    assert code == 2
    assert err.startswith("error: no AWS credentials found") and "aws configure" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_ecb_refresh(refresh, ecb_url, tmp_path):
    code, out, err = refresh("ecb", "--endpoint-url", ecb_url)
    assert code == 0, err
    written = tmp_path / "cache" / "fx" / "eurofxref-daily-2026-07-09.xml"
    assert out.splitlines()[:2] == [
        "ecb: 2 reference rates of 2026-07-09, 1 EUR = 1.1435 USD",
        f"wrote {written}",
    ]
    assert out.splitlines()[2].startswith("compared with ")  # the bundled rates
    assert out.splitlines()[2].endswith("eurofxref-daily.xml (rates of 2026-07-09):")


def test_ecb_refresh_shows_rate_changes(refresh, ecb_url, tmp_path):
    earlier = tmp_path / "earlier.xml"
    earlier.write_text(
        "<Envelope xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><Cube>"
        "<Cube time='2026-07-08'><Cube currency='USD' rate='1.1402'/></Cube></Cube></Envelope>"
    )
    code, out, _ = refresh("ecb", "--endpoint-url", ecb_url, "--against", str(earlier))
    assert code == 0
    assert "  2 rates changed" in out
    usd_row = next(line for line in out.splitlines() if "USD" in line and "1.1402" in line)
    assert "1.1435" in usd_row and "+0.3%" in usd_row


def test_malformed_ecb_answer_exits_2_with_one_line(refresh, local_server):
    local_server.route = lambda path, query: (200, {}, b"<Envelope><Cube>")
    code, _, err = refresh("ecb", "--endpoint-url", local_server.base_url + "/daily.xml")
    assert code == 2
    assert "is unusable: An ECB rates file must be well-formed XML" in err
    assert err.count("\n") == 1


def test_edited_file_is_not_overwritten_even_with_force(refresh, azure_url, recordings, tmp_path):
    args = [
        "azure",
        "--endpoint-url",
        azure_url,
        "--against",
        str(recordings.previous_catalog("azure")),
        "--out",
        str(tmp_path / "azure.csv"),
    ]
    assert refresh(*args)[0] == 0
    (tmp_path / "azure.csv").write_text((tmp_path / "azure.csv").read_text() + "\n")

    code, _, err = refresh(*args, "--force")

    assert code == 2
    assert err == (
        f"error: {tmp_path / 'azure.csv'} was edited after sweeper wrote it; a refresh never "
        "overwrites it. Move it away, or write the refresh elsewhere with --out PATH\n"
    )


def test_unknown_source_suggests_a_name(refresh):
    code, _, err = refresh("ecbb")
    assert code == 2
    assert err == "error: Unknown price source 'ecbb'. Did you mean: ecb?\n"


def test_ecb_takes_no_region(refresh):
    code, _, err = refresh("ecb", "--region", "eu-west-1")
    assert code == 2 and "apply to aws and azure, not to ecb" in err
