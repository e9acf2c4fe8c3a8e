"""Estimator: FLOPs and GPU-hours vs the reference's worked example; MFU defaults, calibration."""

from __future__ import annotations

import pytest

from cost_models import (
    Calibration,
    InvalidInputError,
    default_mbu,
    default_mfu,
    eur_per_hour,
    gpu_hours,
    gpu_spec,
    measured_mfu,
    model_shape,
    training_flops,
    training_flops_per_token,
    utilization_defaults,
)

N_7B = 6.74e9
D = 3e7  # 10M tokens × 3 epochs


def test_worked_example_flops() -> None:
    # Reference §5: C = 4 × 6.74e9 × 3e7 = 8.1e17 FLOPs.
    assert training_flops(N_7B, D, "lora") == pytest.approx(8.088e17)
    assert training_flops(N_7B, D, "lora") == pytest.approx(8.1e17, rel=0.01)
    # The adapter term is small for a typical adapter (r=8 on q,v: 4.19M parameters).
    with_adapter = training_flops(N_7B, D, "lora", adapter_params=4_194_304)
    assert with_adapter == pytest.approx(8.088e17 + 6 * 4_194_304 * D)
    assert with_adapter == pytest.approx(8.1e17, rel=0.01)


@pytest.mark.parametrize(
    ("gpu", "expected_hours"), [("A100-80GB", 2.4), ("H100", 0.76), ("L4", 6.2)]
)
def test_worked_example_gpu_hours(gpu: str, expected_hours: float) -> None:
    hours = gpu_hours(training_flops(N_7B, D, "lora"), gpu_spec(gpu), 0.3)
    assert hours == pytest.approx(expected_hours, rel=0.01)


def test_worked_example_costs(catalog, fx) -> None:
    flops = training_flops(N_7B, D, "lora")
    azure = catalog.offer("Standard_NC24ads_A100_v4", region="eastus")
    a100_hours = gpu_hours(flops, gpu_spec("A100-80GB"), 0.3)
    assert a100_hours * azure.on_demand_per_hour == pytest.approx(8.8, abs=0.05)  # $8.8
    assert a100_hours * eur_per_hour(azure, "on_demand", fx) == pytest.approx(7.7, abs=0.05)  # €7.7
    lambda_h100 = catalog.offer("gpu_1x_h100_sxm5", region="us-east-1")
    h100_cost = gpu_hours(flops, gpu_spec("H100"), 0.3) * eur_per_hour(lambda_h100, "on_demand", fx)
    assert h100_cost == pytest.approx(2.2, abs=0.05)
    g6 = catalog.offer("g6.xlarge", region="us-east-1")
    l4_cost = gpu_hours(flops, gpu_spec("L4"), 0.3) * eur_per_hour(g6, "on_demand", fx)
    assert l4_cost == pytest.approx(4.4, abs=0.05)


def test_full_fine_tuning_and_recomputation() -> None:
    assert training_flops_per_token(1e9, "full") == 6e9
    assert training_flops_per_token(1e9, "full", recompute=True) == 8e9
    assert training_flops_per_token(1e9, "lora", recompute=True) == 6e9
    assert training_flops_per_token(1e9, "qlora") == training_flops_per_token(1e9, "lora")
    with pytest.raises(InvalidInputError, match="training method must be one of lora, qlora, full"):
        training_flops(1e9, 1e6, "dpo")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="token count must be >= 0"):
        training_flops(1e9, -1, "full")


def test_mfu_defaults_are_sourced() -> None:
    assert default_mfu("lora", "A100-80GB") == 0.30
    assert default_mfu("qlora", "H100") == 0.25
    assert default_mfu("full", "A100-40GB") == 0.40
    assert default_mbu("H100") == 0.60
    for row in utilization_defaults():
        assert row.source and row.notes and 0 < row.utilization <= 1


def test_measured_mfu_matches_llama_factory() -> None:
    # LLaMA2-7B LoRA on A100-40GB, HF: 2,392 tokens/GPU/s ≈ 21% MFU counting 4·N (reference §5).
    mfu = measured_mfu(gpu_spec("A100-40GB"), "lora", 2392, N_7B)
    assert mfu == pytest.approx(0.207, abs=0.002)


def test_calibration_updates_the_figure_for_that_gpu_only() -> None:
    base = Calibration()
    assert base.mfu("lora", "A100-40GB") == 0.30 and len(base) == 0
    tuned = base.calibrated("A100-40GB", "lora", 4007, N_7B)  # Unsloth: ≈35%
    assert len(base) == 0  # immutable: calibrated() returns a new one
    assert tuned["A100-40GB"] == pytest.approx(0.346, abs=0.002)
    assert tuned.mfu("lora", "a100 40gb") == pytest.approx(0.346, abs=0.002)
    assert tuned.mfu("lora", "H100") == 0.30
    assert "measured (1 lora run)" == tuned.describe("lora", "A100-40GB")
    # Runs of another method on the same GPU are used before the default.
    assert tuned.mfu("full", "A100-40GB") == pytest.approx(0.346, abs=0.002)
    # Several runs: the median is used.
    twice = tuned.calibrated("A100-40GB", "lora", 2392, N_7B).calibrated(
        "A100-40GB", "lora", 2954, N_7B
    )
    assert twice.mfu("lora", "A100-40GB") == pytest.approx(
        measured_mfu(gpu_spec("A100-40GB"), "lora", 2954, N_7B)
    )
    assert len(twice.runs("A100-40GB", "lora")) == 3


def test_calibrated_hours_follow_the_measurement() -> None:
    flops = training_flops(N_7B, D, "lora")
    cal = Calibration().calibrated("A100-80GB", "lora", 2392 * 2, N_7B, num_gpus=2)
    hours = gpu_hours(flops, gpu_spec("A100-80GB"), cal.mfu("lora", "A100-80GB"))
    assert hours == pytest.approx(D / 2392 / 3600, rel=1e-9)


def test_gpu_hours_rejects_bad_mfu() -> None:
    with pytest.raises(InvalidInputError, match=r"MFU must be in \(0, 1\]"):
        gpu_hours(1e18, gpu_spec("H100"), 1.5)


def test_evaluation_cost_is_prefill_plus_decode() -> None:
    from cost_models import evaluation_flops, evaluation_hours

    shape = model_shape("llama-3-8b")
    assert evaluation_flops(shape.params, 1e6, 1e5) == pytest.approx(2 * shape.params * 1.1e6)
    est = evaluation_hours(
        shape, gpu_spec("H100"), prompt_tokens=1e6, generated_tokens=1e5, batch=8
    )
    assert est.prefill_hours == pytest.approx(2 * shape.params * 1e6 / (989e12 * 0.30 * 3600))
    assert est.decode_hours > est.prefill_hours  # decoding is memory-bound and slow
    assert est.hours == est.prefill_hours + est.decode_hours
