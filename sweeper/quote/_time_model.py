"""Seconds a trial takes on the trial hardware: the time model, its physics estimate from this
machine's measured speed, and its calibration from one measured run.

The physics estimate has two terms each for training and evaluation: compute (FLOPs over the
measured matmul throughput; decode bytes over the measured bandwidth) and the framework's overhead
per step and per layer (``hardware_probe.framework_overhead``). A study's completed trials replace
it (``sweeper.quote._calibration``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

import cost_models
from objectives import task_workload
from sweeper import hardware_probe
from sweeper.hardware_probe import FrameworkOverhead, MachineSpeed
from sweeper.quote._trial_model import trial_model_layers
from sweeper.quote._workload import pruning_task
from sweeper.study import LoadedStudy

#: Share of the measured fp32 matmul throughput that HF Trainer + peft LoRA reach on CPU, before
#: calibration. Measured on the demo study (2-core CPU, SmolLM2-135M, batch 4 x 160): 0.7
#: (3.3 ms per training token against 6.7 ms predicted at 0.35). The first completed trial of a
#: study replaces this prior with its own measurements (``calibrated_time_model``).
CPU_TRAIN_EFFICIENCY = 0.7
#: Seconds to load the model per trial, before calibration (measured: 0.2-4 s for 135M in fp32).
TRIAL_OVERHEAD_S = 5.0
#: Seconds of a mergekit merge of the 135M trial model, before calibration: it loads the base and
#: every partner (fp32, ~0.5 GB each), applies the adapters and writes the merged folder -- disk-
#: and memory-bound, tens of seconds on a 2-core CPU. The first merging trial calibrates it.
MERGE_SECONDS_PRIOR = 20.0
#: Seconds to quantize the 135M trial model, before calibration (measured: 0.4 s for fp16;
#: int8/int4 convert every linear layer, a few seconds).
QUANTIZE_SECONDS_PRIOR = 2.0


@dataclass(frozen=True)
class TrialTimeModel:
    """Seconds a trial takes on the trial hardware, as a function of what it has to do."""

    seconds_per_train_token: float
    eval_seconds: float
    overhead_seconds: float
    source: str
    #: A mergekit merge (merging trials whose evaluation runs).
    merge_seconds: float = MERGE_SECONDS_PRIOR
    #: Quantization seconds by level (levels not listed: ``QUANTIZE_SECONDS_PRIOR``, fp32: 0).
    quantize_seconds: dict[str, float] = field(default_factory=dict)
    #: One intermediate evaluation of pruning (``pruning.limit`` items of the metric's task).
    intermediate_eval_seconds: float = 0.0
    #: Measured / predicted seconds of the calibration trials (empty: uncalibrated).
    spread: tuple[float, ...] = ()
    #: The physics model's framework-overhead parts (``hardware_probe.FrameworkOverhead``): per
    #: training run, per trained token (its steps' share) and per evaluation; the rest is compute.
    train_setup_seconds: float = 0.0
    train_overhead_per_token: float = 0.0
    eval_overhead_seconds: float = 0.0
    #: Tokens of compute a training run pays once more than it trains: its first step allocates
    #: activations, gradients and optimizer state (measured: about one step on a 135M model).
    train_warmup_tokens: float = 0.0

    @property
    def train_compute_per_token(self) -> float:
        return self.seconds_per_train_token - self.train_overhead_per_token

    def train_run_seconds(self, tokens: float) -> float:
        """One training run of ``tokens`` tokens: its set-up and warm-up, then its steps."""
        if tokens <= 0:
            return 0.0
        warmup = self.train_setup_seconds + self.train_compute_per_token * self.train_warmup_tokens
        return warmup + self.seconds_per_train_token * tokens

    def quantize(self, level: str) -> float:
        default = 0.0 if level == "fp32" else QUANTIZE_SECONDS_PRIOR
        return self.quantize_seconds.get(level, default)

    def seconds(
        self,
        *,
        train_tokens: float = 0.0,
        intermediate_evals: float = 0.0,
        evaluates: bool = True,
        merges: bool = False,
        quantization: str = "fp32",
    ) -> float:
        """A trial that trains ``train_tokens`` (its LoRA and any partners), runs
        ``intermediate_evals`` pruning evaluations and, if ``evaluates``, merges (if ``merges``),
        quantizes and evaluates; plus the per-trial overhead."""
        s = self.overhead_seconds + self.train_run_seconds(train_tokens)
        s += intermediate_evals * self.intermediate_eval_seconds
        if evaluates:
            s += self.eval_seconds + self.quantize(quantization)
            s += self.merge_seconds if merges else 0.0
        return s

    def trial_seconds(self, train_tokens: float) -> float:
        """A LoRA-only fp32 trial that trains ``train_tokens`` (no merge, no pruning)."""
        return self.seconds(train_tokens=train_tokens)


def physics_time_model(
    loaded: LoadedStudy,
    trial_params: float,
    adapter_params: float,
    *,
    layers: int | None = None,
    speed: MachineSpeed | None = None,
    overhead: FrameworkOverhead | None = None,
) -> TrialTimeModel:
    """Estimate from this machine's measured speed, before any trial has run.

    Two terms each for training and evaluation: compute (FLOPs over the measured matmul
    throughput; decode bytes over the measured bandwidth) and the framework's overhead per step
    and per layer (``hardware_probe.framework_overhead``), which dominates small models on a CPU.
    ``calibrate_time_model`` scales the compute terms from one measured run. ``speed`` and
    ``overhead``: probes already at hand (default: this machine's, measured if not cached).
    """
    hw = loaded.spec.hardware.trial
    speed = speed or hardware_probe.machine_speed()
    fw = overhead or hardware_probe.framework_overhead()
    n_layers = layers if layers is not None else trial_model_layers(loaded)
    tflops = hw.tflops or speed.matmul_tflops
    bandwidth = (hw.memory_bandwidth_gb_s or speed.memory_bandwidth_gb_s) * 1e9
    flops_per_s = tflops * 1e12 * CPU_TRAIN_EFFICIENCY
    compute_per_token = (
        cost_models.training_flops(trial_params, 1.0, "lora", adapter_params=adapter_params)
        / flops_per_s
    )
    t = loaded.spec.training
    overhead_per_token = fw.train_step_seconds(n_layers) / (t.batch_size * t.seq_len)
    weight_bytes = 4.0 * trial_params  # fp32 on CPU
    batch = loaded.spec.eval.batch_size

    def eval_seconds(task: Any, limit: int | None) -> tuple[float, float]:
        """(compute, overhead) seconds of one task."""
        w = task_workload(task, limit=limit)
        prefill = 2.0 * trial_params * w.prompt_tokens_total / flops_per_s
        decode_steps = np.ceil(w.n_generations / batch) * w.max_new_tokens
        passes = np.ceil(w.n_requests / batch) + decode_steps
        compute = prefill + decode_steps * weight_bytes / bandwidth
        return float(compute), fw.eval_seconds(float(passes), n_layers)

    parts = [eval_seconds(task, loaded.spec.eval.limit) for task in loaded.eval_tasks.values()]
    task = pruning_task(loaded)
    check_s = (
        sum(eval_seconds(task.with_limit(loaded.spec.pruning.limit), None))
        if task is not None
        else 0.0
    )
    return TrialTimeModel(
        compute_per_token + overhead_per_token,
        sum(c + o for c, o in parts),
        TRIAL_OVERHEAD_S,
        f"uncalibrated estimate from this machine's measured speed ({tflops:.2f} TFLOP/s matmul, "
        f"{bandwidth / 1e9:.1f} GB/s, framework overhead {1000 * fw.train_layer_step_s:.1f} ms "
        f"per layer-step{_busy_note(speed, fw)}); the first completed trial calibrates it",
        intermediate_eval_seconds=float(check_s),
        train_setup_seconds=fw.train_setup_s,
        train_overhead_per_token=overhead_per_token,
        train_warmup_tokens=float(t.batch_size * t.seq_len),
        eval_overhead_seconds=sum(o for _, o in parts),
    )


def _busy_note(speed: MachineSpeed, fw: FrameworkOverhead) -> str:
    busy = [c for c in (speed.conditions, fw.conditions) if c is not None and c.busy]
    if not busy:
        return ""
    return (
        f"; probed on a BUSY machine ({100 * max(c.others_cpu_share for c in busy):.0f}% of the "
        "CPU used by other processes): run `sweeper probe --refresh` when it is quiet"
    )


def calibrate_time_model(
    model: TrialTimeModel,
    *,
    train_tokens: float,
    measured_train_seconds: float,
    measured_eval_seconds: float,
) -> TrialTimeModel:
    """``model`` with its compute terms scaled by one measured run (``train_tokens`` trained in
    ``measured_train_seconds``, the study's evaluation in ``measured_eval_seconds``).

    The framework overhead stays as the probe measured it; what the run adds or lacks beyond it is
    compute efficiency (matmul sizes, memory traffic, threads) and moves with FLOPs, so the
    factors (``compute_factors``) carry over to other ranks, step counts and model sizes on the
    same machine (``with_compute_factors``).
    """
    k_train, k_eval = compute_factors(
        model,
        train_tokens=train_tokens,
        measured_train_seconds=measured_train_seconds,
        measured_eval_seconds=measured_eval_seconds,
    )
    return with_compute_factors(model, k_train, k_eval)


def compute_factors(
    model: TrialTimeModel,
    *,
    train_tokens: float,
    measured_train_seconds: float,
    measured_eval_seconds: float,
) -> tuple[float, float]:
    """Measured / predicted compute seconds of one run, training and evaluation (the overhead
    terms taken out of both sides)."""
    k_train = _compute_factor(
        measured_train_seconds
        - model.train_setup_seconds
        - model.train_overhead_per_token * train_tokens,
        model.train_compute_per_token * (train_tokens + model.train_warmup_tokens),
    )
    k_eval = _compute_factor(
        measured_eval_seconds - model.eval_overhead_seconds,
        model.eval_seconds - model.eval_overhead_seconds,
    )
    return k_train, k_eval


def with_compute_factors(model: TrialTimeModel, k_train: float, k_eval: float) -> TrialTimeModel:
    """``model`` with its compute terms (not its overhead) multiplied by the factors."""
    eval_compute = model.eval_seconds - model.eval_overhead_seconds
    return replace(
        model,
        seconds_per_train_token=model.train_overhead_per_token
        + k_train * model.train_compute_per_token,
        eval_seconds=model.eval_overhead_seconds + k_eval * eval_compute,
        source=f"{model.source}; compute calibrated x{k_train:.2f} (training), "
        f"x{k_eval:.2f} (evaluation) from one run",
    )


#: A calibration factor outside this range says the run measured something else (a cold disk, a
#: busy machine): it is clamped rather than trusted.
COMPUTE_FACTOR_RANGE = (0.05, 50.0)


def _compute_factor(measured_compute: float, predicted_compute: float) -> float:
    if predicted_compute <= 0:
        return 1.0
    lo, hi = COMPUTE_FACTOR_RANGE
    return min(max(measured_compute / predicted_compute, lo), hi)
