"""``sweeper quote``: what a sweep will cost before it runs, from the search space and the cost model.

Per-trial time on the trial hardware comes from the study's own completed trials when there are
any (calibrated), else from this machine's measured matmul speed and memory bandwidth (physics
estimate: LoRA FLOPs over measured throughput; evaluation as prefill FLOPs plus bandwidth-bound
decoding). Full-scale training euros come from the cost model exactly as for a real trial.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

import cost_models
from sweeper.costing import (
    PricingContext,
    cost_eur_for_seconds,
    project_training,
    trial_hardware_price,
)
from sweeper.runner import ATTR_METRICS, STUDY_ATTR_BASELINE
from sweeper.search import LoraSettings, fixed_values, lora_settings, suggest
from sweeper.study import LoadedStudy

#: Share of the measured fp32 matmul throughput that HF Trainer + peft LoRA reach on CPU, before
#: calibration. Measured on the demo study (2-core CPU, SmolLM2-135M, batch 4 x 160): 0.7
#: (3.3 ms per training token against 6.7 ms predicted at 0.35). The first completed trial of a
#: study replaces this prior with its own measurements (``calibrated_time_model``).
CPU_TRAIN_EFFICIENCY = 0.7
#: Seconds to load the model per trial, before calibration (measured: 0.2-4 s for 135M in fp32).
TRIAL_OVERHEAD_S = 5.0


@dataclass(frozen=True)
class TrialTimeModel:
    """Seconds a trial takes on the trial hardware, as a function of its settings."""

    seconds_per_train_token: float
    eval_seconds: float
    overhead_seconds: float
    source: str

    def trial_seconds(self, train_tokens: float) -> float:
        return (
            self.seconds_per_train_token * train_tokens + self.eval_seconds + self.overhead_seconds
        )


def _train_tokens(loaded: LoadedStudy, settings: LoraSettings) -> float:
    t = loaded.spec.training
    return float(settings.epochs * t.steps_per_epoch * t.batch_size * t.seq_len)


def calibrated_time_model(loaded: LoadedStudy, study: optuna.Study) -> TrialTimeModel | None:
    """Fit the time model on the study's completed trials (medians: these machines are noisy)."""
    rows = []
    for t in study.trials:
        m = t.user_attrs.get(ATTR_METRICS, {})
        if t.state != optuna.trial.TrialState.COMPLETE or "train_seconds" not in m:
            continue
        settings = lora_settings({**fixed_values(loaded.spec.search_space), **t.params})
        rows.append(
            (
                m["train_seconds"] / _train_tokens(loaded, settings),
                m["eval_seconds"],
                max(m["wall_seconds"] - m["train_seconds"] - m["eval_seconds"], 0.0),
            )
        )
    if not rows:
        return None
    per_token, evals, overheads = zip(*rows, strict=False)
    return TrialTimeModel(
        statistics.median(per_token),
        statistics.median(evals),
        statistics.median(overheads),
        f"calibrated from {len(rows)} completed trial(s) of this study",
    )


def physics_time_model(
    loaded: LoadedStudy, trial_params: float, adapter_params: float
) -> TrialTimeModel:
    """Estimate from this machine's measured speed, before any trial has run."""
    from objectives import task_workload
    from sweeper.hardware_probe import machine_speed

    hw = loaded.spec.hardware.trial
    speed = machine_speed()
    tflops = hw.tflops or speed.matmul_tflops
    bandwidth = (hw.memory_bandwidth_gb_s or speed.memory_bandwidth_gb_s) * 1e9
    flops_per_s = tflops * 1e12 * CPU_TRAIN_EFFICIENCY
    per_token = (
        cost_models.training_flops(trial_params, 1.0, "lora", adapter_params=adapter_params)
        / flops_per_s
    )
    weight_bytes = 4.0 * trial_params  # fp32 on CPU
    eval_s = 0.0
    batch = loaded.spec.eval.batch_size
    for task in loaded.spec.eval.tasks.values():
        w = task_workload(task, limit=loaded.spec.eval.limit)
        eval_s += 2.0 * trial_params * w.prompt_tokens_total / flops_per_s
        eval_s += np.ceil(w.n_generations / batch) * w.max_new_tokens * weight_bytes / bandwidth
    return TrialTimeModel(
        per_token,
        float(eval_s),
        TRIAL_OVERHEAD_S,
        f"uncalibrated estimate from this machine's measured speed ({tflops:.2f} TFLOP/s matmul, "
        f"{bandwidth / 1e9:.1f} GB/s); the first completed trial calibrates it",
    )


def _storage_exists(storage_url: str) -> bool:
    """Whether a quote may read the storage: a missing SQLite file is not created just to quote."""
    prefix = "sqlite:///"
    return not storage_url.startswith(prefix) or Path(storage_url[len(prefix) :]).exists()


def quote_study(
    loaded: LoadedStudy,
    *,
    n_trials: int,
    samples: int = 200,
    storage_url: str | None = None,
    seed: int = 0,
    study: optuna.Study | None = None,
) -> dict[str, Any]:
    """Sample the search space, price every sample, and summarise per trial and for ``n_trials``.

    ``study``: the study already open (the runner's), instead of loading it from ``storage_url``.
    """
    ctx = PricingContext.load()
    hw = trial_hardware_price(loaded.spec, ctx)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler_study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configs = [
        lora_settings(suggest(sampler_study.ask(), loaded.spec.search_space))
        for _ in range(samples)
    ]

    time_model = baseline_done = None
    if study is not None:
        time_model = calibrated_time_model(loaded, study)
        baseline_done = STUDY_ATTR_BASELINE in study.user_attrs
    elif storage_url is not None and _storage_exists(storage_url):
        try:
            from sweeper.storage import open_storage

            study = optuna.load_study(study_name=loaded.name, storage=open_storage(storage_url))
            time_model = calibrated_time_model(loaded, study)
            baseline_done = STUDY_ATTR_BASELINE in study.user_attrs
        except KeyError:
            pass
    if time_model is None:
        typical = configs[len(configs) // 2]
        time_model = physics_time_model(
            loaded,
            _trial_model_params(loaded),
            float(
                cost_models.lora_adapter_params(_trial_shape(), typical.r, typical.target_modules)
            ),
        )
    rows = []
    for s in configs:
        proj = project_training(loaded.spec, s, ctx)
        seconds = time_model.trial_seconds(_train_tokens(loaded, s))
        rows.append(
            (
                seconds,
                cost_eur_for_seconds(seconds, hw.eur_per_hour),
                proj.cost_eur_train_projected,
                proj.gpu_hours_train_projected,
            )
        )
    arr = np.array(rows)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(rows), size=(2000, n_trials))
    totals_eur = arr[draws, 1].sum(axis=1)
    totals_s = arr[draws, 0].sum(axis=1)
    base_s = time_model.eval_seconds + time_model.overhead_seconds
    if baseline_done is not True:  # the base model is evaluated once per study
        totals_eur = totals_eur + cost_eur_for_seconds(base_s, hw.eur_per_hour)
        totals_s = totals_s + base_s

    def pct(col: int) -> dict[str, float]:
        return {
            p: float(np.percentile(arr[:, col], q))
            for p, q in (("p10", 10), ("p50", 50), ("p90", 90))
        }

    proj0 = project_training(loaded.spec, configs[0], ctx)
    total_p50_eur = float(np.percentile(totals_eur, 50))
    return {
        "study": loaded.name,
        "n_trials": n_trials,
        "samples": samples,
        "trial_hardware": hw.name,
        "trial_eur_per_hour": hw.eur_per_hour,
        "calibration": time_model.source,
        "per_trial": {
            "trial_seconds": pct(0),
            "cost_eur_trial": pct(1),
            "cost_eur_train_projected": pct(2),
            "gpu_hours_train_projected": pct(3),
        },
        "study_total": {
            "cost_eur_p50": total_p50_eur,
            "cost_eur_p90": float(np.percentile(totals_eur, 90)),
            "hours_p50": float(np.percentile(totals_s, 50)) / 3600,
            "hours_p90": float(np.percentile(totals_s, 90)) / 3600,
            "includes_baseline_eval": baseline_done is not True,
        },
        "baseline_eval": {
            "seconds": base_s,
            "cost_eur": cost_eur_for_seconds(base_s, hw.eur_per_hour),
            "done": baseline_done is True,
        },
        "target": {
            "instance": proj0.target_instance,
            "gpu": proj0.target_gpu,
            "pricing": proj0.target_pricing,
            "eur_per_hour": proj0.target_eur_per_hour,
            "mfu": proj0.mfu,
        },
        "budget": _budget(loaded, storage_url, study, total_p50_eur),
        "assumptions": f"target {proj0.target_instance} {proj0.target_pricing} at €{proj0.target_eur_per_hour:.3f}/h, "
        f"MFU {proj0.mfu:.2f}; {ctx.fx.describe()}; catalog v{ctx.catalog.version}",
    }


def _budget(
    loaded: LoadedStudy, storage_url: str | None, study: optuna.Study | None, total_p50_eur: float
) -> dict[str, Any] | None:
    """The budget the run will be held to, what remains of it, and whether the P50 quote fits."""
    from sweeper.budget_guard import budget_position

    if storage_url is None:
        study = None
    position = budget_position(loaded, storage_url or "", study)
    if position is None:
        return None
    return {
        "budget_eur": position.budget_eur,
        "declared_in_study_file": position.declared,
        "spent_eur": position.spent_eur,
        "reserved_eur": position.reserved_eur,
        "remaining_eur": position.remaining_eur,
        "fits": total_p50_eur <= position.remaining_eur,
        "over_by_eur": max(0.0, total_p50_eur - position.remaining_eur),
    }


def require_budget_fits(quote: dict[str, Any], study_file: Path | str) -> None:
    """Raise ``OverBudgetError`` when the quote's P50 for the trials to run exceeds what remains
    of the budget (the check ``sweeper run`` makes unless ``--force``)."""
    from sweeper.budget import OverBudgetError

    budget = quote.get("budget")
    if budget is None or budget["fits"]:
        return
    total = quote["study_total"]
    raise OverBudgetError(
        f"the quote for {quote['n_trials']} trial(s) of study {quote['study']!r} must fit in the "
        f"remaining budget, but its P50 €{total['cost_eur_p50']:.4f} exceeds the remaining "
        f"€{budget['remaining_eur']:.4f} by €{budget['over_by_eur']:.4f} (budget "
        f"€{budget['budget_eur']:.4f}, spent €{budget['spent_eur']:.4f}, reserved "
        f"€{budget['reserved_eur']:.4f}); raise budget_eur in {study_file}, run fewer --trials, "
        f"or pass --force"
    )


def _trial_shape() -> Any:
    return cost_models.model_shape("smollm2-135m")


def _trial_model_params(loaded: LoadedStudy) -> float:
    """Parameters of the trial model, from safetensors headers when the folder exists (no torch)."""
    import json
    import struct
    from pathlib import Path

    path = loaded.spec.model.path
    if path.startswith("builtin:"):
        return float(_trial_shape().params)
    total = 0
    for f in Path(path).glob("*.safetensors") if Path(path).is_dir() else []:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for k, v in header.items():
            if k != "__metadata__":
                total += int(np.prod(v["shape"]))
    return float(total) if total else float(_trial_shape().params)
