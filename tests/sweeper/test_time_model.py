"""The quote's time model: framework overhead apart from compute, and one-run calibration.

The pure parts (``calibrate_time_model``, ``with_compute_factors``) on hand-made models; the
probe (``hardware_probe.framework_overhead``) against the real stack: tiny models trained with
``objectives.train_lora`` and scored by lm-eval.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sweeper.quote import (
    COMPUTE_FACTOR_RANGE,
    TrialTimeModel,
    calibrate_time_model,
    compute_factors,
    physics_time_model,
    with_compute_factors,
)
from sweeper.study import load_study

REPO = Path(__file__).resolve().parents[2]


def _model(compute_per_token: float = 1e-3, eval_compute: float = 2.0) -> TrialTimeModel:
    return TrialTimeModel(
        seconds_per_train_token=2e-4 + compute_per_token,
        eval_seconds=0.5 + eval_compute,
        overhead_seconds=5.0,
        source="test",
        train_setup_seconds=0.3,
        train_overhead_per_token=2e-4,
        eval_overhead_seconds=0.5,
        train_warmup_tokens=100.0,
    )


def test_a_training_run_pays_set_up_warm_up_and_its_tokens() -> None:
    tm = _model()
    # 0.3 s set-up + 100 warm-up tokens of compute + 1000 tokens of overhead and compute.
    assert tm.train_run_seconds(1000) == pytest.approx(0.3 + 100 * 1e-3 + 1000 * 1.2e-3)
    assert tm.train_run_seconds(0) == 0.0
    assert tm.seconds(train_tokens=0, evaluates=False) == pytest.approx(5.0)


def test_calibration_scales_compute_and_keeps_the_overhead() -> None:
    tm = _model()
    # The run took twice the predicted compute in training, half in evaluation.
    measured_train = 0.3 + 1000 * 2e-4 + 2 * 1e-3 * 1100
    measured_eval = 0.5 + 0.5 * 2.0
    cal = calibrate_time_model(
        tm,
        train_tokens=1000,
        measured_train_seconds=measured_train,
        measured_eval_seconds=measured_eval,
    )
    assert cal.train_run_seconds(1000) == pytest.approx(measured_train)
    assert cal.eval_seconds == pytest.approx(measured_eval)
    assert cal.train_overhead_per_token == tm.train_overhead_per_token
    assert cal.train_setup_seconds == tm.train_setup_seconds
    assert "x2.00 (training), x0.50 (evaluation)" in cal.source


def test_factors_carry_to_a_bigger_model_through_its_compute_only() -> None:
    small, big = _model(compute_per_token=1e-4), _model(compute_per_token=1e-2, eval_compute=40.0)
    k_train, k_eval = compute_factors(
        small,
        train_tokens=1000,
        measured_train_seconds=0.3 + 1000 * 2e-4 + 3 * 1e-4 * 1100,
        measured_eval_seconds=0.5 + 3 * 2.0,
    )
    assert (k_train, k_eval) == (pytest.approx(3.0), pytest.approx(3.0))
    scaled = with_compute_factors(big, k_train, k_eval)
    assert scaled.train_run_seconds(1000) == pytest.approx(0.3 + 1000 * 2e-4 + 3 * 1e-2 * 1100)
    assert scaled.eval_seconds == pytest.approx(0.5 + 3 * 40.0)


def test_a_run_that_measured_something_else_is_clamped() -> None:
    # Faster than the overhead alone: no compute left to scale -> the lower clamp, not negative.
    k_train, k_eval = compute_factors(
        _model(), train_tokens=1000, measured_train_seconds=0.01, measured_eval_seconds=0.01
    )
    assert (k_train, k_eval) == (COMPUTE_FACTOR_RANGE[0], COMPUTE_FACTOR_RANGE[0])


def test_the_probe_measures_the_real_stack_and_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweeper import hardware_probe

    monkeypatch.setenv("SWEEPER_CACHE_DIR", str(tmp_path))
    fw = hardware_probe.framework_overhead()
    # Trainer set-up is tenths of a second; a layer costs something per step and per pass.
    assert 0.0 < fw.train_setup_s < 30.0
    assert fw.train_layer_step_s > 0.0
    assert fw.forward_s + fw.forward_layer_s > 0.0
    assert fw.train_seconds(10, 30) > fw.train_seconds(10, 2) > fw.train_seconds(1, 2)
    cached = json.loads((tmp_path / "framework_overhead.json").read_text())
    assert cached["machine"] == fw.machine
    assert hardware_probe.framework_overhead() == fw  # read back, not re-measured

    # The physics model of the demo study carries the probe's overhead as its own terms.
    tm = physics_time_model(load_study(REPO / "studies" / "demo.yaml"), 1.35e8, 2e6)
    assert tm.train_setup_seconds == fw.train_setup_s
    assert 0.0 < tm.train_overhead_per_token < tm.seconds_per_train_token
    assert 0.0 < tm.eval_overhead_seconds < tm.eval_seconds
