"""Whether this machine's cached probe still agrees with the study's trials measured on it."""

from __future__ import annotations

from datetime import datetime, timezone

import optuna

import cost_models
from sweeper import hardware_probe
from sweeper.metrics import EVAL_SECONDS, TRAIN_SECONDS
from sweeper.quote._calibration import calibration_rows
from sweeper.quote._time_model import physics_time_model
from sweeper.quote._trial_model import trial_model_params, trial_model_shape
from sweeper.study import LoadedStudy


def check_probe_against_trials(loaded: LoadedStudy, study: optuna.Study) -> str | None:
    """Compare this machine's cached probe with the study's trials measured on this machine
    since it ran (at least ``hardware_probe.DISAGREEMENT_MIN_TRIALS``); when they took more than
    ``DISAGREEMENT_LIMIT`` times its prediction (or less than its inverse), clear the cached
    probe so the next uncalibrated quote measures again, and say so in one line. None: nothing
    to compare (no cached probe, too few trials since, declared trial hardware) or they agree."""
    speed = hardware_probe.cached_machine_speed()
    fw = hardware_probe.cached_framework_overhead()
    if speed is None or fw is None or loaded.spec.hardware.trial.tflops is not None:
        return None
    since = min(
        datetime.fromisoformat(c.measured_at) for c in (speed.conditions, fw.conditions) if c
    )
    here = hardware_probe.machine_name()
    rows = [
        r
        for r in calibration_rows(loaded, study)
        if r.own
        and r.eval_ran
        and r.machine == here
        and r.completed is not None
        and r.completed.astimezone(timezone.utc) > since
    ]
    if not rows:
        return None
    typical = rows[len(rows) // 2].recipe.lora
    adapter = cost_models.lora_adapter_params(
        trial_model_shape(loaded), typical.r, typical.target_modules
    )
    physics = physics_time_model(
        loaded, trial_model_params(loaded), float(adapter), speed=speed, overhead=fw
    )
    k = hardware_probe.disagreement_factor(
        [r.metrics[TRAIN_SECONDS] + r.metrics[EVAL_SECONDS] for r in rows],
        [
            physics.train_run_seconds(r.tokens)
            + r.checks * physics.intermediate_eval_seconds
            + physics.eval_seconds
            for r in rows
        ],
    )
    if k is None or not hardware_probe.disagrees(k):
        return None
    hardware_probe.invalidate()
    return (
        f"machine probe: {len(rows)} trial(s) of this study measured since the probe ran "
        f"trained and evaluated in x{k:.2f} the time it predicts (more than "
        f"x{hardware_probe.DISAGREEMENT_LIMIT:g} off); its cache in {hardware_probe.cache_dir()} "
        "is cleared, the next uncalibrated quote measures again (or: sweeper probe --refresh)"
    )
