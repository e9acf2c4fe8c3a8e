"""The quote's time model: framework overhead apart from compute, and one-run calibration.

The pure parts (``calibrate_time_model``, ``with_compute_factors``) on hand-made models; the
probe's rules for a busy machine (best of runs, busy detection, retries, the 2x disagreement
rule) on scripted measurements; the probe itself once against the real stack, through
``sweeper probe``: tiny models trained with ``objectives.train_lora`` and scored by lm-eval.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from sweeper import hardware_probe
from sweeper.cli import main
from sweeper.quote import (
    COMPUTE_FACTOR_RANGE,
    TrialTimeModel,
    calibrate_time_model,
    compute_factors,
    physics_time_model,
    with_compute_factors,
)
from sweeper.study import load_study

REPO = Path(__file__).resolve().parents[3]


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
    monkeypatch.setattr(hardware_probe, "sample_load", lambda: _QUIET)
    monkeypatch.setattr(hardware_probe, "PROBE_PAUSE_S", 0.0)
    calls = iter([flat, _samples()])
    monkeypatch.setattr(hardware_probe, "_probe_samples", lambda: next(calls))
    fw = hardware_probe._measure_framework_overhead("m")
    assert not hardware_probe.is_degenerate(fw)
    assert fw.conditions.attempts == 2 and not fw.conditions.busy

    counted = []
    monkeypatch.setattr(hardware_probe, "_probe_samples", lambda: counted.append(1) or flat)
    with pytest.warns(RuntimeWarning, match="busy machine"):
        fw = hardware_probe._measure_framework_overhead("m")
    assert hardware_probe.is_degenerate(fw) and len(counted) == hardware_probe.PROBE_ATTEMPTS
    assert fw.conditions.busy


# --- the probe on a busy machine: pure selection logic on injected measurements ----------------

_QUIET = hardware_probe.LoadSample(others_cpu_share=0.1, load_avg_1m=0.3, cores=2)
_BUSY = hardware_probe.LoadSample(others_cpu_share=0.9, load_avg_1m=3.5, cores=2)


class _Machine:
    """A scripted machine: each probe run returns the next (value, spread), each load sample
    the next load; pauses are counted, not slept."""

    def __init__(self, runs: list[tuple[float, float]], loads: list) -> None:
        self.runs, self.loads, self.pauses = iter(runs), iter(loads), []

    def run(self) -> tuple[float, float]:
        return next(self.runs)

    def load(self) -> hardware_probe.LoadSample:
        return next(self.loads)

    def measure(self, **kw):
        return hardware_probe.measure_until_quiet(
            self.run, max, what="test", load=self.load, pause=self.pauses.append, **kw
        )


def test_the_busy_rule_is_load_above_half_the_cores_or_a_wide_spread() -> None:
    assert hardware_probe.spread_of([1.0, 1.1, 5.0]) == pytest.approx(1.1)  # one spike: steady
    assert hardware_probe.spread_of([1.0, 2.0, 2.0]) == pytest.approx(2.0)
    assert not hardware_probe.is_busy(0.5, 1.5)
    assert hardware_probe.is_busy(0.51, 1.0) and hardware_probe.is_busy(0.0, 1.6)


def test_a_quiet_probe_is_measured_once() -> None:
    machine = _Machine([(0.23, 1.1)], [_QUIET, _QUIET])
    value, c = machine.measure()
    assert value == 0.23 and machine.pauses == []
    assert (c.attempts, c.busy, c.others_cpu_share, c.spread, c.cores) == (1, False, 0.1, 1.1, 2)


def test_a_busy_probe_is_measured_again_once_the_machine_quietens_and_the_best_counts() -> None:
    # Busy while measuring (0.03), quiet after the pause: measured again (0.23); the best of
    # both is kept (a busy machine only slows a probe down).
    machine = _Machine([(0.03, 1.2), (0.23, 1.1)], [_QUIET, _BUSY, _QUIET, _QUIET])
    value, c = machine.measure(pause_s=7.0)
    assert value == 0.23 and machine.pauses == [7.0]
    assert (c.attempts, c.busy, c.others_cpu_share) == (2, False, 0.1)


def test_a_machine_that_stays_busy_costs_one_pause_and_is_kept_flagged_busy() -> None:
    machine = _Machine([(0.03, 1.2)], [_BUSY, _BUSY, _BUSY])
    with pytest.warns(RuntimeWarning, match=r"busy machine \(BUSY: other processes used 90%"):
        value, c = machine.measure()
    assert value == 0.03 and len(machine.pauses) == 1
    assert (c.attempts, c.busy, c.load_avg_1m) == (1, True, 3.5)


def test_runs_that_spread_are_measured_again_up_to_the_limit() -> None:
    runs = [(0.10, 3.0), (0.20, 2.5), (0.15, 2.0)]
    machine = _Machine(runs, [_QUIET] * 10)
    with pytest.warns(RuntimeWarning, match="run spread x2.00, 3 attempt"):
        value, c = machine.measure(attempts=3)
    assert value == 0.20 and len(machine.pauses) == 2 and c.busy


def test_the_best_of_several_measurements() -> None:
    speeds = [
        hardware_probe.MachineSpeed(0.03, 17.6, "m"),
        hardware_probe.MachineSpeed(0.23, 4.6, "m"),
    ]
    best = hardware_probe.best_speed(speeds)
    assert (best.matmul_tflops, best.memory_bandwidth_gb_s) == (0.23, 17.6)
    quick = hardware_probe.fit_framework_overhead(_samples(), "m")
    slow = replace(quick, train_layer_step_s=25 * quick.train_layer_step_s)
    assert hardware_probe.least_overhead([slow, quick]) is quick


def test_the_disagreement_rule_is_more_than_2x_either_way() -> None:
    factor = hardware_probe.disagreement_factor([30.0, 66.0, 90.0], [10.0, 20.0, 30.0])
    assert factor == pytest.approx(3.0)
    assert hardware_probe.disagrees(factor) and hardware_probe.disagrees(0.45)
    assert not hardware_probe.disagrees(1.9) and not hardware_probe.disagrees(0.55)
    assert hardware_probe.disagreement_factor([5.0, 6.0, 7.0], [0.0, 2.0, 2.0]) is None
    # One or two trials are not evidence (a first trial in a fresh process runs slow).
    assert hardware_probe.disagreement_factor([30.0, 60.0], [10.0, 20.0]) is None
    assert hardware_probe.disagreement_factor([30.0, 60.0], [10.0, 20.0], min_trials=2) == 3.0


def test_the_cache_keeps_the_conditions_and_is_cleared_by_invalidate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEPER_CACHE_DIR", str(tmp_path))
    conditions = hardware_probe.ProbeConditions(0.9, 3.5, 2, 1.2, 1, True, "2026-01-01T00:00:00")
    speed = hardware_probe.MachineSpeed(0.03, 4.6, "m", conditions)
    measured = []

    def measure() -> hardware_probe.MachineSpeed:
        measured.append(1)
        return speed

    name = hardware_probe.MACHINE_SPEED_FILE
    cls = hardware_probe.MachineSpeed
    assert hardware_probe._cached(name, "m", cls, measure, refresh=False) == speed
    assert hardware_probe._cached(name, "m", cls, measure, refresh=False) == speed
    assert len(measured) == 1 and json.loads((tmp_path / name).read_text())["conditions"]["busy"]
    # A cache of an earlier probe (no recorded conditions) is measured again.
    (tmp_path / name).write_text(json.dumps({"matmul_tflops": 0.03, "machine": "m"}))
    hardware_probe._cached(name, "m", cls, measure, refresh=False)
    assert len(measured) == 2
    assert hardware_probe.invalidate() == [tmp_path / name] and not (tmp_path / name).exists()


# --- the real probe, once, through the CLI -----------------------------------------------------


def test_sweeper_probe_measures_the_real_stack_records_the_load_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("SWEEPER_CACHE_DIR", str(tmp_path))
    # One measurement each: the retry rules are tested above on scripted machines, and the CI
    # machine is busy, so more attempts would only make this test slower.
    monkeypatch.setattr(hardware_probe, "PROBE_ATTEMPTS", 1)
    assert main(["probe", "--refresh", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "measured now"
    assert out["cache"] == [
        str(tmp_path / hardware_probe.MACHINE_SPEED_FILE),
        str(tmp_path / hardware_probe.FRAMEWORK_OVERHEAD_FILE),
    ]
    speed = hardware_probe.cached_machine_speed()
    fw = hardware_probe.cached_framework_overhead()
    assert asdict(speed) == out["machine_speed"] and asdict(fw) == out["framework_overhead"]
    assert speed.matmul_tflops > 0 and speed.memory_bandwidth_gb_s > 0
    for probe, degenerate in ((speed, False), (fw, hardware_probe.is_degenerate(fw))):
        c = probe.conditions
        assert 0.0 <= c.others_cpu_share <= 1.0 and c.cores == os.cpu_count()
        assert c.spread >= 1.0 and c.attempts == 1
        assert c.busy == (hardware_probe.is_busy(c.others_cpu_share, c.spread) or degenerate)
    values = [v for v in asdict(fw).values() if isinstance(v, float)]
    assert len(values) == 6 and all(math.isfinite(v) and v >= 0.0 for v in values)
    assert fw.train_seconds(10, 30) >= fw.train_seconds(10, 2) >= fw.train_seconds(1, 2)
    assert hardware_probe.framework_overhead() == fw  # read back, not re-measured

    # Shown again from the cache: the profile, the load it was measured at, where it lives.
    assert main(["probe"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "(cached)" in shown and f"{speed.matmul_tflops:.3f} TFLOP/s" in shown
    assert f"load average {speed.conditions.load_avg_1m:.2f} on {os.cpu_count()} cores" in shown
    assert str(tmp_path / hardware_probe.FRAMEWORK_OVERHEAD_FILE) in shown

    # The physics model of the demo study carries the probe's overhead as its own terms.
    tm = physics_time_model(load_study(REPO / "studies" / "demo.yaml"), 1.35e8, 2e6)
    assert tm.train_setup_seconds == fw.train_setup_s
    assert 0.0 <= tm.train_overhead_per_token < tm.seconds_per_train_token
    assert 0.0 <= tm.eval_overhead_seconds < tm.eval_seconds
    if not fw.conditions.busy:
        assert fw.train_setup_s > 0.0 and fw.train_layer_step_s > 0.0
        assert tm.train_overhead_per_token > 0.0 and tm.eval_overhead_seconds > 0.0
