"""The quote's time model: framework overhead apart from compute, and one-run calibration.

The pure parts (``calibrate_time_model``, ``with_compute_factors``) on hand-made models; the
probe (``hardware_probe.framework_overhead``) against the real stack: tiny models trained with
``objectives.train_lora`` and scored by lm-eval.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict
from pathlib import Path

import pytest

from sweeper import hardware_probe
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


def _samples(
    setup: float = 0.25,
    step: float = 0.004,
    layer_step: float = 0.005,
    forward: float = 0.009,
    forward_layer: float = 0.0011,
    eval_setup: float = 0.008,
    spike: float = 10.0,
) -> hardware_probe.ProbeSamples:
    """Probe samples of a machine with the given profile, every fifth gap or pass ``spike``x slow
    (another process took the core) and the second run of each depth slower to set up."""
    steps = hardware_probe.PROBE_STEPS
    forward_runs, train_runs = [], []
    for layers in hardware_probe.PROBE_LAYERS:
        one_pass = forward + layers * forward_layer
        forward_runs.append(tuple(one_pass * (spike if i % 5 == 0 else 1.0) for i in range(15)))
        one_step = step + layers * layer_step
        runs = []
        for run in range(hardware_probe.PROBE_TRAIN_RUNS):
            gaps = tuple(one_step * (spike if i % 5 == 3 else 1.0) for i in range(steps - 1))
            total = setup * (1 + run) + one_step + sum(gaps)
            runs.append((total, gaps))
        train_runs.append(tuple(runs))
    l0 = hardware_probe.PROBE_LAYERS[0]
    evals = tuple(
        (passes, eval_setup + passes * (forward + l0 * forward_layer)) for passes in (1.0, 6.0)
    )
    return hardware_probe.ProbeSamples(
        forward=tuple(forward_runs), train=tuple(train_runs), evals=evals
    )


def test_the_fit_recovers_a_profile_through_a_busy_machines_spikes() -> None:
    fw = hardware_probe.fit_framework_overhead(_samples(), "m")
    assert fw.train_setup_s == pytest.approx(0.25)
    assert fw.train_step_s == pytest.approx(0.004)
    assert fw.train_layer_step_s == pytest.approx(0.005)
    assert fw.forward_s == pytest.approx(0.009)
    assert fw.forward_layer_s == pytest.approx(0.0011)
    assert fw.eval_setup_s == pytest.approx(0.008)
    assert not hardware_probe.is_degenerate(fw)


def test_noise_cannot_make_a_layer_step_cheaper_than_its_forward_pass() -> None:
    # Deeper steps measured no slower than shallow ones (noise): the layer-step falls back to
    # the layer's forward pass, its lower bound, and nothing goes negative.
    fw = hardware_probe.fit_framework_overhead(_samples(layer_step=0.0, spike=1.0), "m")
    assert fw.train_layer_step_s == pytest.approx(0.0011)
    assert fw.train_step_s == pytest.approx(0.004 - 0.0011)
    assert min(fw.train_setup_s, fw.train_step_s, fw.forward_s, fw.eval_setup_s) >= 0.0


def test_a_degenerate_probe_is_measured_again_then_kept_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flat = _samples(setup=0.0, layer_step=0.0, forward_layer=0.0)  # a drowned signal
    assert hardware_probe.is_degenerate(hardware_probe.fit_framework_overhead(flat, "m"))
    calls = iter([flat, _samples()])
    monkeypatch.setattr(hardware_probe, "_probe_samples", lambda: next(calls))
    assert not hardware_probe.is_degenerate(hardware_probe._measure_framework_overhead("m"))

    counted = []
    monkeypatch.setattr(hardware_probe, "_probe_samples", lambda: counted.append(1) or flat)
    with pytest.warns(RuntimeWarning, match="too busy"):
        fw = hardware_probe._measure_framework_overhead("m")
    assert hardware_probe.is_degenerate(fw) and len(counted) == hardware_probe.PROBE_ATTEMPTS


def test_the_probe_measures_the_real_stack_and_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEPER_CACHE_DIR", str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fw = hardware_probe.framework_overhead()
    values = [v for v in asdict(fw).values() if isinstance(v, float)]
    assert len(values) == 6 and all(math.isfinite(v) and v >= 0.0 for v in values)
    # A profile with a zero where physics says "costs something" is only kept with a warning.
    busy = [w for w in caught if "too busy" in str(w.message)]
    assert hardware_probe.is_degenerate(fw) == bool(busy)
    assert fw.train_seconds(10, 30) >= fw.train_seconds(10, 2) >= fw.train_seconds(1, 2)
    cached = json.loads((tmp_path / "framework_overhead.json").read_text())
    assert cached["machine"] == fw.machine
    assert hardware_probe.framework_overhead() == fw  # read back, not re-measured

    # The physics model of the demo study carries the probe's overhead as its own terms.
    tm = physics_time_model(load_study(REPO / "studies" / "demo.yaml"), 1.35e8, 2e6)
    assert tm.train_setup_seconds == fw.train_setup_s
    assert 0.0 <= tm.train_overhead_per_token < tm.seconds_per_train_token
    assert 0.0 <= tm.eval_overhead_seconds < tm.eval_seconds
    if not busy:
        assert fw.train_setup_s > 0.0 and fw.train_layer_step_s > 0.0
        assert tm.train_overhead_per_token > 0.0 and tm.eval_overhead_seconds > 0.0
