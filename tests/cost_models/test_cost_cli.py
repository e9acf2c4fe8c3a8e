"""CLI: `sweeper prices list`, `sweeper estimate`, `sweeper commit` — tables, --json, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

RATE_LINE = "1 EUR = 1.1435 USD (ECB reference rate, 2026-07-09)"


def test_prices_list_reproduces_the_talk(run_cli) -> None:
    result = run_cli("prices", "list", "--gpu", "A100-80GB", "--provider", "azure")
    assert result.code == 0, result.err
    out = result.out
    assert "Standard_NC24ads_A100_v4" in out and "Standard_NC96ads_A100_v4" in out
    assert re.search(
        r"Standard_NC24ads_A100_v4\s+│ eastus .*│\s+3\.2121 │.*│\s+2,345 │ 2026-07", out
    )
    assert re.search(
        r"Standard_NC96ads_A100_v4\s+│ eastus .*│\s+12\.8483 │.*│\s+9,379 │ 2026-07", out
    )
    for header in (
        "On-demand €/h",
        "Spot €/h",
        "1-yr res. €/h",
        "3-yr res. €/h",
        "On-demand €/month",
        "Price date",
    ):
        assert header in out
    assert RATE_LINE in out and "Price dates: 2026-07" in out and "catalog schema v1" in out


def test_prices_list_json(run_cli) -> None:
    result = run_cli("prices", "list", "--gpu", "A100-80GB", "--provider", "azure", "--json")
    assert result.code == 0
    data = json.loads(result.out)
    assert data["fx"]["usd_per_eur"] == 1.1435 and data["fx"]["date"] == "2026-07-09"
    by_type = {(o["instance_type"], o["region"]): o for o in data["offers"]}
    nc24 = by_type[("Standard_NC24ads_A100_v4", "eastus")]
    assert (
        nc24["on_demand_eur_per_month"] == pytest.approx(2344.8, abs=0.1)
        and nc24["currency"] == "USD"
    )
    assert (
        nc24["reserved_1y_eur_per_hour"] is None
        and nc24["price_date"] == "2026-07"
        and nc24["source"]
    )
    assert by_type[("Standard_NC96ads_A100_v4", "eastus")][
        "on_demand_eur_per_month"
    ] == pytest.approx(9379.2, abs=0.1)
    assert data["catalog"]["schema_version"] == 1 and len(data["catalog"]["sha256"]) == 64


def test_prices_list_filters_and_override(run_cli) -> None:
    result = run_cli(
        "prices", "list", "--gpu", "h100", "--region", "eu*", "--fx-usd-per-eur", "1.0", "--json"
    )
    data = json.loads(result.out)
    assert data["offers"] and all(o["gpu_model"] == "H100" for o in data["offers"])
    assert all(
        o["on_demand_eur_per_hour"] in (None, o["on_demand_per_hour"]) for o in data["offers"]
    )
    assert data["fx"]["source"] == "--fx-usd-per-eur override"
    text = run_cli("prices", "list", "--gpu", "h100", "--region", "eu*", "--notes")
    assert "Source: skypilot-org/skypilot-catalog" in text.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("prices", "list", "--gpu", "A10O"),
            "Unknown GPU 'A10O'. Did you mean: A100-40GB, A100-80GB?",
        ),
        (
            ("prices", "list", "--provider", "lamda"),
            "Unknown provider 'lamda'. Did you mean: lambda?",
        ),
        (
            (
                "estimate",
                "--params",
                "7e9",
                "--tokens",
                "3e7",
                "--method",
                "lora",
                "--instance",
                "p4d.24xl",
            ),
            "Unknown instance 'p4d.24xl'. Did you mean: p4d.24xlarge?",
        ),
        (
            ("commit", "--gpu", "A10O", "--hours-per-month", "730", "--months", "36"),
            "Unknown GPU 'A10O'. Did you mean: A100-40GB, A100-80GB?",
        ),
        (
            (
                "commit",
                "--instance",
                "Standard_NC24ads",
                "--hours-per-month",
                "730",
                "--months",
                "36",
            ),
            "Unknown instance 'Standard_NC24ads'. Did you mean:",
        ),
        (
            ("estimate", "--model", "llama-4", "--tokens", "1e6", "--method", "lora"),
            "Unknown model 'llama-4'",
        ),
        (
            (
                "commit",
                "--gpu",
                "A100-80GB",
                "--hours-per-month",
                "730",
                "--months",
                "36",
                "--reserved-discount",
                "70",
            ),
            "(0.7 means 70%)",
        ),
        (
            ("estimate", "--tokens", "1e6", "--method", "lora"),
            "give --params (e.g. 7e9) or --model",
        ),
        (("prices", "list", "--catalog", "/nonexistent/catalog.csv"), "must exist"),
        # Issue 12: a ZeroDivisionError, a hang, an OverflowError traceback.
        (
            ("commit", "--gpu", "A100-80GB", "--hours-per-month", "0", "--months", "12"),
            "Hours per month must be > 0",
        ),
        (
            ("commit", "--gpu", "A100-80GB", "--hours-per-month", "100", "--months", "1000000000"),
            "whole number of months in 1...240",
        ),
        (
            ("estimate", "--params", "inf", "--tokens", "1e9", "--method", "lora"),
            "A parameter count must be finite and > 0, but got inf",
        ),
        (
            ("estimate", "--params", "nan", "--tokens", "1e9", "--method", "lora"),
            "must be finite and > 0",
        ),
    ],
)
def test_user_mistakes_exit_2_with_one_line(run_cli, args, message: str) -> None:
    result = run_cli(*args)
    assert result.code == 2
    assert message in result.err
    assert (
        result.err.startswith("error: ")
        and result.err.count("\n") == 1
        and "Traceback" not in result.err
    )


def test_commit_three_year_wins_around_the_clock(run_cli) -> None:
    result = run_cli(
        "commit",
        "--gpu",
        "A100-80GB",
        "--provider",
        "azure",
        "--hours-per-month",
        "730",
        "--months",
        "36",
        "--reserved-discount",
        "0.7",
    )
    assert result.code == 0, result.err
    out = result.out
    assert "Standard_NC24ads_A100_v4 (eastus)" in out and "€2,345 per month around the clock" in out
    assert "Recommendation: Reserved 3 yr." in out
    assert RATE_LINE in out and "Price dates: 2026-07" in out


def test_commit_three_year_loses_for_a_few_hours_a_day_and_fast_decline(run_cli) -> None:
    few = run_cli(
        "commit",
        "--gpu",
        "A100-80GB",
        "--provider",
        "azure",
        "--hours-per-month",
        "90",
        "--months",
        "36",
        "--reserved-discount",
        "0.7",
    )
    assert "Recommendation: On-demand." in few.out
    fast = run_cli(
        "commit",
        "--gpu",
        "A100-80GB",
        "--provider",
        "azure",
        "--hours-per-month",
        "730",
        "--months",
        "36",
        "--reserved-discount",
        "0.7",
        "--price-decline-per-year",
        "0.75",
    )
    assert "Recommendation: On-demand." in fast.out and "never (" in fast.out


def test_commit_json_break_even_is_the_hand_calculation(run_cli) -> None:
    result = run_cli(
        "commit",
        "--gpu",
        "A100-80GB",
        "--provider",
        "azure",
        "--hours-per-month",
        "300",
        "--months",
        "36",
        "--reserved-discount",
        "0.7",
        "--price-decline-per-year",
        "0.25",
        "--json",
    )
    data = json.loads(result.out)
    p0 = 3.673 / 1.1435
    options = {o["option"]: o for o in data["options"]}
    drift_sum = sum(0.75 ** (m / 12) for m in range(36))
    assert data["market_factor_sum"] == pytest.approx(drift_sum)
    reserved_total = p0 * 0.3 * 730 * 36
    assert options["reserved_3y"]["total_eur"] == pytest.approx(reserved_total)
    assert options["reserved_3y"]["break_even_utilization"] == pytest.approx(
        reserved_total / (730 * p0 * drift_sum)
    )
    assert options["reserved_3y"]["price_source"] == "--reserved-discount 70%"
    assert options["on_demand"]["total_eur"] == pytest.approx(300 * p0 * drift_sum)
    assert data["recommendation"] in options and data["reason"].endswith(".")
    assert data["fx"]["describe"] == RATE_LINE and data["price_dates"] == ["2026-07"]


def test_commit_4x_a100_reproduces_ten_thousand_a_month(run_cli) -> None:
    result = run_cli(
        "commit",
        "--gpu",
        "A100-80GB",
        "--gpu-count",
        "4",
        "--provider",
        "azure",
        "--hours-per-month",
        "730",
        "--months",
        "12",
        "--json",
    )
    data = json.loads(result.out)
    assert data["offer"]["instance_type"] == "Standard_NC96ads_A100_v4"
    assert data["on_demand_eur_per_month_around_the_clock_now"] == pytest.approx(9379, abs=1)


def test_commit_uses_catalog_reserved_price(run_cli) -> None:
    data = json.loads(
        run_cli(
            "commit",
            "--instance",
            "p4de.24xlarge",
            "--hours-per-month",
            "500",
            "--months",
            "12",
            "--json",
        ).out
    )
    options = {o["option"]: o for o in data["options"]}
    assert options["reserved_1y"]["eur_per_hour_now"] == pytest.approx(30.26 / 1.1435)
    assert options["reserved_1y"]["price_source"] == "catalog reserved price"
    assert options["reserved_3y"]["price_source"].startswith("default discount")


def test_estimate_7b_lora_matches_the_worked_example(run_cli) -> None:
    result = run_cli("estimate", "--params", "7e9", "--tokens", "3e7", "--method", "lora", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["flops"] == pytest.approx(4 * 7e9 * 3e7, rel=0.02)
    hours = {row["gpu"]: row["gpu_hours"] for row in data["gpu_hours_by_gpu"]}
    # The reference's 6.74e9-parameter example gives 2.4 h (A100) and 0.76 h (H100); 7e9 scales it.
    assert hours["A100-80GB"] == pytest.approx(2.4 * 7 / 6.74, rel=0.03)
    assert hours["H100"] == pytest.approx(0.76 * 7 / 6.74, rel=0.03)
    chosen = data["placement"]["chosen"]
    need = data["memory"]["total_gib"]
    assert chosen["gpu_count"] == 1 and need < 20
    assert chosen["cost_eur"] == pytest.approx(chosen["hours"] * chosen["eur_per_hour"])
    assert len(data["placement"]["runners_up"]) == 5 and data["placement"]["excluded"]


def test_estimate_exact_model_reproduces_2_4_a100_hours(run_cli) -> None:
    data = json.loads(
        run_cli(
            "estimate",
            "--model",
            "llama-2-7b",
            "--tokens",
            "3e7",
            "--method",
            "lora",
            "--lora-rank",
            "8",
            "--target-modules",
            "q_proj,v_proj",
            "--gpu",
            "A100-80GB",
            "--json",
        ).out
    )
    assert data["flops"] == pytest.approx(8.1e17, rel=0.01)
    assert data["placement"]["chosen"]["gpu_hours"] == pytest.approx(2.4, rel=0.01)


def test_estimate_table_output(run_cli) -> None:
    result = run_cli("estimate", "--params", "7e9", "--tokens", "3e7", "--method", "lora")
    out = result.out
    assert "Compute: 8.48e+17 FLOPs = 4·N·D + 6·A·D" in out
    assert "GPU-hours on one GPU" in out and "Chosen:" in out and "for the whole job" in out
    assert "Runners-up" in out and "Excluded" in out and RATE_LINE in out


def test_estimate_70b_never_on_one_80gb_gpu(run_cli) -> None:
    data = json.loads(
        run_cli(
            "estimate",
            "--params",
            "70e9",
            "--tokens",
            "3e7",
            "--method",
            "lora",
            "--dtype",
            "bf16",
            "--json",
        ).out
    )
    for option in [data["placement"]["chosen"], *data["placement"]["runners_up"]]:
        assert option["gpu_count"] > 1 or option["gpu_model"] in ("B200",)
    reasons = [
        e["reason"]
        for e in data["placement"]["excluded"]
        if e["instance_type"] == "Standard_NC24ads_A100_v4"
    ]
    assert reasons and "has 80 GiB" in reasons[0]


def test_estimate_serve(run_cli) -> None:
    result = run_cli(
        "estimate",
        "--model",
        "llama-3-8b",
        "--tokens",
        "1e9",
        "--method",
        "serve",
        "--batch",
        "8",
        "--json",
    )
    data = json.loads(result.out)
    chosen = data["placement"]["chosen"]
    assert chosen["eur_per_million_tokens"] > 0 and chosen["replicas"] >= 1
    assert chosen["cost_eur"] == pytest.approx(chosen["replicas"] * 730 * chosen["eur_per_hour"])
    text = run_cli(
        "estimate", "--model", "llama-3-8b", "--tokens", "1e9", "--method", "serve", "--batch", "8"
    ).out
    assert "per million tokens" in text and "per month" in text


def test_estimate_rejects_gpu_and_instance_together(run_cli) -> None:
    result = run_cli(
        "estimate",
        "--params",
        "7e9",
        "--tokens",
        "1e6",
        "--method",
        "lora",
        "--gpu",
        "H100",
        "--instance",
        "p5.48xlarge",
    )
    assert result.code == 2 and "not both" in result.err


def test_custom_catalog_flag(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    header = (
        "provider,instance_type,region,gpu_model,gpu_count,gpu_memory_gib,vcpus,ram_gib,currency,"
        "on_demand_per_hour,spot_per_hour,reserved_1y_per_hour,reserved_3y_per_hour,price_date,source,notes"
    )
    path.write_text(
        header + "\nacme,box-1,eu-west-9,H100,1,80,16,128,USD,1.1435,,,,2026-11-01,quote,\n",
        encoding="utf-8",
    )
    data = json.loads(run_cli("prices", "list", "--catalog", str(path), "--json").out)
    assert [o["on_demand_eur_per_hour"] for o in data["offers"]] == [pytest.approx(1.0)]
    assert data["catalog"]["files"] == ["mine.csv"]
