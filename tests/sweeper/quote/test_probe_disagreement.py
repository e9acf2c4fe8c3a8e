"""A quote clears the cached machine probe when the study's trials measured on this machine took
more than twice (or less than half) the time the probe predicts.

A hand-made probe is cached in a temporary cache directory, and the study's trials are hand-made
(as in test_quote_recipe) with train and evaluation seconds a chosen multiple of what the
physics model predicts from that probe; the quote is the real ``quote_study``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import optuna
import pytest

import cost_models
from sweeper import hardware_probe
from sweeper.quote import physics_time_model, quote_study, trial_model_params
from sweeper.study import LoadedStudy
from sweeper.trial_record import ATTR_MACHINE
from tests.sweeper.quote.test_quote_recipe import QUANTIZE_SPACE, _load, _storage, _tokens, _trial

#: The probe of the issue's busy machine: 0.03 TFLOP/s, 4.6 GB/s, 99.5 ms per layer-step.
_PROBED_AT = datetime.now(timezone.utc) - timedelta(hours=1)


def _cache_busy_probe() -> tuple[hardware_probe.MachineSpeed, hardware_probe.FrameworkOverhead]:
    conditions = hardware_probe.ProbeConditions(
        0.9, 3.5, 2, 1.3, 1, True, _PROBED_AT.isoformat(timespec="seconds")
    )
    speed_key, fw_key = hardware_probe._machine_speed_key(), hardware_probe._framework_key()
    speed = hardware_probe.MachineSpeed(0.03, 4.6, speed_key, conditions)
    fw = hardware_probe.FrameworkOverhead(0.9, 0.02, 0.0995, 0.01, 0.004, 0.06, fw_key, conditions)
    hardware_probe._cached(
        hardware_probe.MACHINE_SPEED_FILE,
        speed_key,
        hardware_probe.MachineSpeed,
        lambda: speed,
        refresh=True,
    )
    hardware_probe._cached(
        hardware_probe.FRAMEWORK_OVERHEAD_FILE,
        fw_key,
        hardware_probe.FrameworkOverhead,
        lambda: fw,
        refresh=True,
    )
    return speed, fw


def _study_at(
    tmp_path: Path, loaded: LoadedStudy, factor: float, machine: str | None, levels: int = 3
) -> str:
    """Storage with ``levels`` trials that trained and evaluated in ``factor`` x the probe's
    prediction, recorded as run on ``machine``."""
    speed, fw = hardware_probe.cached_machine_speed(), hardware_probe.cached_framework_overhead()
    assert speed is not None and fw is not None  # nothing measured here
    adapter = cost_models.lora_adapter_params(cost_models.model_shape("smollm2-135m"), 16)
    physics = physics_time_model(
        loaded, trial_model_params(loaded), float(adapter), speed=speed, overhead=fw
    )
    train_s = factor * physics.train_run_seconds(_tokens(loaded))
    eval_s = factor * physics.eval_seconds
    trials = []
    for level in ("fp32", "int8", "int4")[:levels]:
        t = _trial(
            loaded,
            {"quantization": level},
            train=train_s,
            evaluate=eval_s,
            cache={"eval": False, "lora": False},
        )
        attrs = t.user_attrs | ({ATTR_MACHINE: machine} if machine else {})
        trials.append(
            optuna.trial.create_trial(
                state=t.state,
                params=t.params,
                distributions=t.distributions,
                values=t.values,
                user_attrs=attrs,
            )
        )
    return _storage(tmp_path, loaded, trials)


@pytest.fixture
def probe_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWEEPER_CACHE_DIR", str(tmp_path / "probe-cache"))
    _cache_busy_probe()
    return tmp_path / "probe-cache"


def test_two_trials_are_not_enough_evidence(tmp_path: Path, probe_cache: Path) -> None:
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    url = _study_at(tmp_path, loaded, 1 / 3, hardware_probe.machine_name(), levels=2)
    assert quote_study(loaded, n_trials=1, storage_url=url).machine_probe is None
    assert len(_cached_files(probe_cache)) == 2


def _cached_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.json"))


def test_trials_3x_off_the_probe_clear_it(tmp_path: Path, probe_cache: Path) -> None:
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    url = _study_at(tmp_path, loaded, 1 / 3, hardware_probe.machine_name())
    q = quote_study(loaded, n_trials=1, storage_url=url)
    assert "3 trial(s) of this study" in q.machine_probe
    assert "x0.33 the time it predicts" in q.machine_probe
    assert "\n" not in q.machine_probe
    assert _cached_files(probe_cache) == []
    assert hardware_probe.cached_machine_speed() is None


@pytest.mark.parametrize("factor", [0.6, 1.8])
def test_trials_within_2x_keep_it(tmp_path: Path, probe_cache: Path, factor: float) -> None:
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    url = _study_at(tmp_path, loaded, factor, hardware_probe.machine_name())
    assert quote_study(loaded, n_trials=1, storage_url=url).machine_probe is None
    assert _cached_files(probe_cache) == ["framework_overhead.json", "machine_speed.json"]


@pytest.mark.parametrize("machine", [None, "another-host-x86_64-64"])
def test_trials_of_another_machine_say_nothing_about_this_ones_probe(
    tmp_path: Path, probe_cache: Path, machine: str | None
) -> None:
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    url = _study_at(tmp_path, loaded, 1 / 3, machine)
    assert quote_study(loaded, n_trials=1, storage_url=url).machine_probe is None
    assert len(_cached_files(probe_cache)) == 2
