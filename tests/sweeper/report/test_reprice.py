"""Repricing a finished study from its recorded projections, without re-running anything."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cost_models
from sweeper.cli import main

CATALOG_DIR = Path(cost_models.__file__).parent / "data" / "catalogs" / "v1"
H100_SPOT = ["--instance", "p5.48xlarge", "--provider", "aws", "--pricing", "spot"]


def reprice_json(study: Path, storage: str, capsys, *extra: str) -> dict:
    capsys.readouterr()
    assert main(["reprice", str(study), "--storage", storage, "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_a100_on_demand_to_h100_spot_reranks_with_the_arithmetic(
    synth_study_file: Path, synth_storage: str, capsys
) -> None:
    data = reprice_json(
        synth_study_file, synth_storage, capsys, *H100_SPOT, "--horizon-months", "1"
    )
    rows = {r["trial"]: r for r in data["trials"]}
    assert data["ranking_changed"], "the move must change the ranking"
    # Recompute one trial by hand from the catalog row: FLOPs / (peak x MFU) / GPUs x EUR/h.
    offer = cost_models.load_catalog().offer("p5.48xlarge", provider="aws")
    fx = cost_models.load_fx_rates()
    eur_h = cost_models.eur_per_hour(offer, "spot", fx)
    gpu = cost_models.gpu_spec(offer.gpu_model)
    mfu = cost_models.default_mfu("lora", gpu.name)
    row = rows[data["ranking_changed"][0]]
    before, after = row["cost_eur_train_projected_before"], row["cost_eur_train_projected_after"]
    flops = float(row["why"].split(" FLOP")[0].split()[-1])
    expected = cost_models.gpu_hours(flops, gpu, mfu) / offer.gpu_count * eur_h
    assert math.isclose(after, expected, rel_tol=1e-2)  # flops printed to 3 digits
    assert after < before
    assert "H100" in row["why"] and "spot" in row["why"] and "A100" in row["why"]
    # The move is uniform for training: training-only order is unchanged; the ranking moves
    # because training's share of the first month fell against serving.
    moved = row
    assert moved["rank_after"] < moved["rank_before"] or moved["rank_after"] > moved["rank_before"]
    by_train_before = sorted(rows, key=lambda n: (rows[n]["cost_eur_train_projected_before"], n))
    by_train_after = sorted(rows, key=lambda n: (rows[n]["cost_eur_train_projected_after"], n))
    assert by_train_before == by_train_after
    # Serving was not asked to move.
    assert all(
        r["cost_eur_serving_month_before"] == r["cost_eur_serving_month_after"]
        for r in data["trials"]
    )


def test_reprice_table_and_another_catalog(
    synth_study_file: Path, synth_storage: str, tmp_path: Path, capsys
) -> None:
    assert main(["reprice", str(synth_study_file), "--storage", synth_storage, *H100_SPOT]) == 0
    out = capsys.readouterr().out
    assert "rank (was)" in out and "why (trial" in out and "p5.48xlarge spot" in out
    # A catalog where RunPod's A100 costs twice as much: serving there is repriced, training
    # (Azure) is not.
    folder = tmp_path / "v1"
    shutil.copytree(CATALOG_DIR, folder)
    runpod = folder / "runpod.csv"
    rows = runpod.read_text().splitlines(keepends=True)
    runpod.write_text(
        "".join(
            r.replace(",USD,1.64,", ",USD,3.28,") if ",1x_A100-80GB_SECURE," in r else r
            for r in rows
        )
    )
    data = reprice_json(synth_study_file, synth_storage, capsys, "--catalog", str(folder))
    changed = [
        r
        for r in data["trials"]
        if r["cost_eur_serving_month_after"] != r["cost_eur_serving_month_before"]
    ]
    assert changed and all(
        math.isclose(r["cost_eur_serving_month_after"], 2 * r["cost_eur_serving_month_before"])
        for r in changed
    )
    assert all(
        math.isclose(r["cost_eur_train_projected_after"], r["cost_eur_train_projected_before"])
        for r in data["trials"]
    )


def test_reprice_without_a_change_is_one_line(synth_study_file: Path, synth_storage: str, capsys):
    assert main(["reprice", str(synth_study_file), "--storage", synth_storage]) == 2
    assert "give --catalog" in capsys.readouterr().err


def test_merge_partners_training_is_repriced_too() -> None:
    from sweeper.report import TrainingTarget, TrialRecord, reprice

    own = {
        "train_flops_projected": 1e18,
        "target_instance": "a/x",
        "target_pricing": "on_demand",
        "target_eur_per_hour": 2.0,
        "gpu_hours_train_projected": 1.0,
    }
    # Recorded metrics: own LoRA plus a partner LoRA of the same size.
    record = TrialRecord(
        0,
        "COMPLETE",
        metrics={
            "train_flops_projected": 2e18,
            "gpu_hours_train_projected": 2.0,
            "cost_eur_train_projected": 4.0,
        },
        projection={"training": own},
    )
    target = TrainingTarget("b/y", "H100", 1e15, 1, 80.0, "spot", 1.0, 0.5)
    after = reprice([record], training={"a/x": target})[0].after
    hours = 2e18 / (1e15 * 0.5) / 3600
    assert math.isclose(after.metrics["cost_eur_train_projected"], hours * 1.0)


def test_serving_moved_to_a_24_gib_l4_fits_only_the_quantized_levels(
    synth_study_file: Path, synth_storage: str, capsys
) -> None:
    # A 7B model: fp32 weights (~27 GiB + KV cache) cannot be served on one 24 GiB L4; int8 and
    # NF4 can. The cost model re-projects serving there for each recorded weight dtype.
    data = reprice_json(
        synth_study_file, synth_storage, capsys, "--serving-instance", "aws/g6.xlarge"
    )
    assert data["repriced"].startswith("serving → aws/g6.xlarge on_demand")
    assert "fits at int8, nf4" in data["repriced"]
    offer = cost_models.load_catalog().offer("g6.xlarge", provider="aws")
    eur_h = cost_models.eur_per_hour(offer, "on_demand", cost_models.load_fx_rates())
    by_level: dict[str, list[dict]] = {}
    for row in data["trials"]:
        by_level.setdefault(row["params"]["quantization"], []).append(row)
    for row in by_level["fp32"]:  # infeasible now: out of the ranking, bill unchanged
        assert row["feasible_after"] is False and row["rank_after"] is None
        assert "does not fit aws/g6.xlarge" in row["why"] and "at fp32" in row["why"]
        assert row["cost_eur_serving_month_after"] == row["cost_eur_serving_month_before"]
    for level in ("int8", "int4"):
        for row in by_level[level]:
            assert row["feasible_after"] is True and row["rank_after"] is not None
            assert "→ aws/g6.xlarge on_demand (" in row["why"]
            # The bill is replicas x the catalog row's EUR/h x the month's hours, as printed.
            replicas = int(row["why"].split("replica(s) at")[0].rsplit("(", 1)[1])
            month = row["cost_eur_serving_month_after"]
            assert math.isclose(month / (replicas * eur_h), 730.0, rel_tol=0.01)
            assert f"€{eur_h:.3f}/h" in row["why"]
    # NF4 moves less data per decoded token than int8: never more replicas, never a larger bill.
    nf4 = min(r["cost_eur_serving_month_after"] for r in by_level["int4"])
    int8 = min(r["cost_eur_serving_month_after"] for r in by_level["int8"])
    assert nf4 <= int8
    assert set(data["ranking_changed"]) >= {
        r["trial"] for r in by_level["fp32"] if r["rank_before"]
    }
