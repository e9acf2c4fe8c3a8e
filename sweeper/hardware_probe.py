"""Measuring the machine trials run on, for quotes made before any trial has run.

Two micro-benchmarks (about a second in all): dense fp32 matmul throughput and memory-copy
bandwidth; and the framework's overhead (``framework_overhead``: a few seconds of tiny LoRA
trainings and lm-eval runs). Results are cached per machine in the sweeper cache directory.

A probe is only as good as the machine was quiet while it ran, and a cached one is used for
every later uncalibrated quote. So each probe is short repeated runs of which the best counts (a
busy machine only ever adds time: maximum throughput, minimum times), the load is sampled just
before and after it and stored with it (``ProbeConditions``), and a busy probe -- other
processes using more than half the CPU, or runs that spread too far -- is measured again after
a pause if the machine has quietened by then (up to ``PROBE_ATTEMPTS`` measurements), else kept
with a warning and ``busy: true``. A study whose
measured trials disagree with the probe by more than ``DISAGREEMENT_LIMIT``x clears the cache
(``invalidate``), and ``sweeper probe --refresh`` measures again on demand.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from user_cache import cache_dir

T = TypeVar("T")

#: Bumped when the probe's method changes, so machines' cached profiles are measured again.
PROBE_VERSION = 3
#: Probe attempts before a busy (or degenerate) measurement is kept, with a warning.
PROBE_ATTEMPTS = 3
#: Seconds to wait before measuring a busy machine again (whatever made it busy may finish).
PROBE_PAUSE_S = 5.0
#: Busy: other processes used more than this share of all cores just before or after the probe.
BUSY_CPU_SHARE = 0.5
#: Busy: the probe's repeated runs spread further than this (median over best, >= 1).
BUSY_SPREAD = 1.5
#: A study's measured trials over the probe's prediction beyond this factor (either way) say
#: the probe measured another machine than the trials ran on: the cached probe is cleared.
DISAGREEMENT_LIMIT = 2.0
#: Trials a disagreement needs before it clears a probe (one slow first trial is not evidence).
DISAGREEMENT_MIN_TRIALS = 3
#: Seconds over which the CPU use of other processes is sampled (the probe itself is idle).
LOAD_SAMPLE_S = 0.2


@dataclass(frozen=True)
class ProbeConditions:
    """How loaded the machine was while a probe ran, stored with the probe's result."""

    #: Share of all cores that other processes used, sampled just before and just after the
    #: probe while it was idle (the larger of the two; 0..1).
    others_cpu_share: float
    #: The 1-minute load average at probe time, and the cores it is spread over.
    load_avg_1m: float
    cores: int
    #: Median over best of the probe's repeated runs (1.0: every run as fast as the best).
    spread: float
    #: Measurements taken (a busy one is retried after a pause).
    attempts: int
    #: Still busy after every attempt: the result is kept, with a warning, but not trusted.
    busy: bool
    #: When the kept measurement was taken (UTC, ISO 8601).
    measured_at: str

    @property
    def load_per_core(self) -> float:
        return self.load_avg_1m / max(self.cores, 1)

    def describe(self) -> str:
        state = "BUSY" if self.busy else "quiet"
        return (
            f"{state}: other processes used {100 * self.others_cpu_share:.0f}% of the CPU, "
            f"load average {self.load_avg_1m:.2f} on {self.cores} cores, run spread "
            f"x{self.spread:.2f}, {self.attempts} attempt(s), measured {self.measured_at}"
        )


def spread_of(times: Sequence[float]) -> float:
    """Median over best of repeated timings of the same work (>= 1; 1.0 when steady)."""
    best = min(times)
    return statistics.median(times) / best if best > 0 else 1.0


def is_busy(others_cpu_share: float, spread: float) -> bool:
    """The rule that marks a probe measured beside other work (pure)."""
    return others_cpu_share > BUSY_CPU_SHARE or spread > BUSY_SPREAD


def disagrees(measured_over_predicted: float) -> bool:
    """True when measured trials took more than ``DISAGREEMENT_LIMIT`` times the probe's
    prediction, or less than its inverse."""
    k = measured_over_predicted
    return k > DISAGREEMENT_LIMIT or k < 1.0 / DISAGREEMENT_LIMIT


def disagreement_factor(
    measured_s: Sequence[float],
    predicted_s: Sequence[float],
    min_trials: int = DISAGREEMENT_MIN_TRIALS,
) -> float | None:
    """Median measured / predicted seconds over trials; None with fewer than ``min_trials``
    usable pairs (pure)."""
    ratios = [m / p for m, p in zip(measured_s, predicted_s, strict=True) if m > 0 and p > 0]
    return statistics.median(ratios) if len(ratios) >= min_trials else None


@dataclass(frozen=True)
class LoadSample:
    others_cpu_share: float
    load_avg_1m: float
    cores: int


def sample_load(seconds: float = LOAD_SAMPLE_S) -> LoadSample:
    """Other processes' CPU use now: this process sleeps while ``psutil`` samples every core."""
    import psutil

    share = psutil.cpu_percent(interval=seconds) / 100.0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return LoadSample(share, load, os.cpu_count() or 1)


def measure_until_quiet(
    run: Callable[[], tuple[T, float]],
    best: Callable[[Sequence[T]], T],
    *,
    what: str,
    degenerate: Callable[[T], bool] = lambda _: False,
    load: Callable[[], LoadSample] | None = None,
    pause: Callable[[float], None] | None = None,
    attempts: int | None = None,
    pause_s: float | None = None,
) -> tuple[T, ProbeConditions]:
    """Run the probe ``run`` (its value and its runs' spread) until an attempt is quiet: the
    load sampled before and after it at most ``BUSY_CPU_SHARE``, its spread at most
    ``BUSY_SPREAD``, its value not ``degenerate``. After a busy attempt it pauses ``pause_s``
    and samples the load again: still busy, measuring again would only measure the same load, so
    it stops (a probe on a machine that stays busy costs one pause, not ``attempts`` probes);
    quieter, it measures again, at most ``attempts`` times in all (default ``PROBE_ATTEMPTS``).

    Returns ``best`` of every attempt's value (a busy machine only slows a probe down, so the
    best of all is the least disturbed) and the conditions of the last attempt; when that was
    busy, ``busy=True`` and a warning.
    """
    load = load or sample_load
    pause = pause or time.sleep
    attempts = PROBE_ATTEMPTS if attempts is None else attempts
    pause_s = PROBE_PAUSE_S if pause_s is None else pause_s
    if attempts < 1:
        raise ValueError(f"`attempts >= 1` must hold, but got attempts={attempts}.")
    values: list[T] = []
    before = load()
    for attempt in range(1, attempts + 1):
        value, spread = run()
        after = load()
        values.append(value)
        share = max(before.others_cpu_share, after.others_cpu_share)
        busy = is_busy(share, spread) or degenerate(value)
        if not busy or attempt == attempts:
            break
        pause(pause_s)
        before = load()
        if is_busy(before.others_cpu_share, 1.0):
            break
    conditions = ProbeConditions(
        others_cpu_share=share,
        load_avg_1m=after.load_avg_1m,
        cores=after.cores,
        spread=spread,
        attempts=attempt,
        busy=busy,
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    kept = best([v for v in values if not degenerate(v)] or values)
    if busy:
        warnings.warn(
            f"The {what} probe ran on a busy machine ({conditions.describe()}); quotes use its "
            "best measurement as is. Measure again on a quieter machine: sweeper probe "
            "--refresh.",
            RuntimeWarning,
            stacklevel=2,
        )
    return kept, conditions


@dataclass(frozen=True)
class MachineSpeed:
    matmul_tflops: float
    memory_bandwidth_gb_s: float
    machine: str
    conditions: ProbeConditions | None = None


#: The cache files of the two probes, in ``cache_dir()``.
MACHINE_SPEED_FILE = "machine_speed.json"
FRAMEWORK_OVERHEAD_FILE = "framework_overhead.json"


def machine_speed(refresh: bool = False) -> MachineSpeed:
    """This machine's measured matmul TFLOP/s and memory bandwidth (cached)."""
    key = _machine_speed_key()
    return _cached(MACHINE_SPEED_FILE, key, MachineSpeed, lambda: _measure_speed(key), refresh)


def cached_machine_speed() -> MachineSpeed | None:
    """The cached machine speed of this machine, without measuring (None when there is none)."""
    return _read_cache(MACHINE_SPEED_FILE, _machine_speed_key(), MachineSpeed)


def machine_name() -> str:
    """This machine as probes and trials record it: host, architecture, cores."""
    return f"{platform.node()}-{platform.machine()}-{os.cpu_count()}"


def _machine_speed_key() -> str:
    return f"{machine_name()}-probe{PROBE_VERSION}"


def best_speed(speeds: Sequence[MachineSpeed]) -> MachineSpeed:
    """The fastest of several measurements, each figure on its own (pure)."""
    return replace(
        speeds[0],
        matmul_tflops=max(s.matmul_tflops for s in speeds),
        memory_bandwidth_gb_s=max(s.memory_bandwidth_gb_s for s in speeds),
    )


def _measure_speed(key: str) -> MachineSpeed:
    def run() -> tuple[MachineSpeed, float]:
        tflops, spread = _matmul_tflops()
        return MachineSpeed(tflops, _bandwidth_gb_s(), key), spread

    speed, conditions = measure_until_quiet(run, best_speed, what="machine-speed")
    return replace(speed, conditions=conditions)


def invalidate() -> list[Path]:
    """Delete both cached probes of this machine, so the next uncalibrated quote measures
    again; returns the files deleted."""
    deleted = []
    for name in (MACHINE_SPEED_FILE, FRAMEWORK_OVERHEAD_FILE):
        path = cache_dir() / name
        if path.exists():
            path.unlink()
            deleted.append(path)
    return deleted


def _read_cache(name: str, key: str, cls: type[T]) -> T | None:
    path = cache_dir() / name
    if not path.exists():
        return None
    try:
        cached = json.loads(path.read_text())
        if cached.get("machine") != key or not isinstance(cached.get("conditions"), dict):
            return None
        return cls(**{**cached, "conditions": ProbeConditions(**cached["conditions"])})
    except (ValueError, TypeError, AttributeError):
        return None


def _cached(name: str, key: str, cls: type[T], measure: Callable[[], T], refresh: bool) -> T:
    """The measurement stored in ``cache_dir() / name`` for machine ``key``, else a new one."""
    cached = None if refresh else _read_cache(name, key, cls)
    if cached is not None:
        return cached
    value = measure()
    path = cache_dir() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(value), indent=1))  # type: ignore[call-overload]
    return value


#: The matmul probe: short bursts of ``MATMUL_SIZE``-square fp32 products, the best one counts.
MATMUL_SIZE, MATMUL_RUNS, MATMUL_RUN_S = 1024, 5, 0.12


def _matmul_tflops(n: int = MATMUL_SIZE) -> tuple[float, float]:
    """Best TFLOP/s over ``MATMUL_RUNS`` short bursts, and the bursts' spread."""
    import torch

    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    per_product = []
    for _ in range(MATMUL_RUNS):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < MATMUL_RUN_S:
            torch.mm(a, b)
            count += 1
        per_product.append((time.perf_counter() - start) / count)
    return 2 * n**3 / min(per_product) / 1e12, spread_of(per_product)


def _bandwidth_gb_s(megabytes: int = 128, repeats: int = 5) -> float:
    import numpy as np

    src = np.ones(megabytes * 1024 * 1024 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e9  # read + write


@dataclass(frozen=True)
class FrameworkOverhead:
    """Seconds the software stack spends on this machine whatever the FLOPs (on a CPU: Python and
    PyTorch dispatch per module call). Small models are dominated by it; a FLOP count alone
    predicts a 2-layer toy and a 30-layer model 1000x apart when they train 10x apart.

    Measured by ``framework_overhead()`` on the real path -- ``objectives.train_lora`` (HF
    ``Trainer`` + peft) and the model's forward pass -- over tiny random Llamas of 1 and 4 layers,
    whose FLOPs are negligible: ``setup + steps * (step + layers * layer_step)``, the per-step
    time being the median step-to-step interval at each depth (so a busy machine's spikes do not
    move it) and a layer-step never cheaper than the layer's forward pass.
    """

    #: Per ``train_lora`` call: Trainer and optimizer set-up, data collation, first-step warm-up.
    train_setup_s: float
    #: Per optimizer step, fixed part (optimizer, scheduler, logging, batch collation).
    train_step_s: float
    #: Per decoder layer per optimizer step (forward + backward of LoRA-wrapped modules).
    train_layer_step_s: float
    #: Per batched inference forward pass (an lm-eval batch, or one decode step), fixed part:
    #: the model's own plus lm-eval's batching, padding and scoring.
    forward_s: float
    #: Per decoder layer per inference forward pass.
    forward_layer_s: float
    #: Per lm-eval task run, beyond its forward passes: building requests, tokenizing, scoring.
    eval_setup_s: float
    machine: str
    conditions: ProbeConditions | None = None

    def train_step_seconds(self, layers: int) -> float:
        return self.train_step_s + layers * self.train_layer_step_s

    def train_seconds(self, steps: float, layers: int) -> float:
        return self.train_setup_s + steps * self.train_step_seconds(layers)

    def forward_seconds(self, passes: float, layers: int) -> float:
        return passes * (self.forward_s + layers * self.forward_layer_s)

    def eval_seconds(self, passes: float, layers: int) -> float:
        return self.eval_setup_s + self.forward_seconds(passes, layers)


def framework_overhead(refresh: bool = False) -> FrameworkOverhead:
    """This machine's framework overhead (cached beside ``machine_speed``; a few seconds once)."""
    return _cached(
        FRAMEWORK_OVERHEAD_FILE,
        _framework_key(),
        FrameworkOverhead,
        lambda: _measure_framework_overhead(_framework_key()),
        refresh,
    )


def cached_framework_overhead() -> FrameworkOverhead | None:
    """The cached overhead profile of this machine, without measuring (None when there is none)."""
    return _read_cache(FRAMEWORK_OVERHEAD_FILE, _framework_key(), FrameworkOverhead)


def _framework_key() -> str:
    import torch
    import transformers

    return (
        f"{machine_name()}-torch{torch.__version__}"
        f"-transformers{transformers.__version__}-probe{PROBE_VERSION}"
    )


#: Depths of the overhead probe's tiny models (two fit the per-layer line).
PROBE_LAYERS = (1, 4)
#: Optimizer steps of each probe training run, and runs per depth.
PROBE_STEPS, PROBE_TRAIN_RUNS = 8, 2
#: The lm-eval run of the probe: a multiple-choice task (no generation), a few items.
PROBE_EVAL_TASK, PROBE_EVAL_LIMITS, PROBE_EVAL_BATCH = "sweeper_general", (2, 16), 8


@dataclass(frozen=True)
class ProbeSamples:
    """What the overhead probe measured, raw; ``fit_framework_overhead`` turns it into a profile."""

    #: Per depth in ``PROBE_LAYERS``: the seconds of repeated batched inference forward passes.
    forward: tuple[tuple[float, ...], ...]
    #: Per depth: each ``PROBE_STEPS``-step training run's ``(total seconds, step-to-step gaps)``.
    train: tuple[tuple[tuple[float, tuple[float, ...]], ...], ...]
    #: Per limit in ``PROBE_EVAL_LIMITS``: ``(batched passes, seconds)`` of an lm-eval run.
    evals: tuple[tuple[float, float], ...]


def fit_framework_overhead(samples: ProbeSamples, machine: str) -> FrameworkOverhead:
    """The overhead profile of ``samples`` (pure). Medians and minima, never means, because a
    busy machine only adds time in spikes: per-step times are the median step-to-step gap at each
    depth, a run's set-up what it spent before its first step ended less one step (least over
    the runs), a forward pass the median of its repeats. Physics bounds what noise can flip: a
    training layer-step runs the layer forward and backward, so it is never cheaper than the
    layer's forward pass."""
    import numpy as np

    (l0, l1) = PROBE_LAYERS
    f0, f1 = (float(np.median(times)) for times in samples.forward)
    forward_layer = max((f1 - f0) / (l1 - l0), 0.0)
    forward_fixed = max(f0 - l0 * forward_layer, 0.0)

    per_step, setups = [], []
    for runs in samples.train:
        step = float(np.median([gap for _, gaps in runs for gap in gaps]))
        per_step.append(step)
        # Set-up: the run's time before its first step ended, less one step (its gaps excluded,
        # so a spike between steps is not mistaken for set-up).
        setups.append(min(total - sum(gaps) - step for total, gaps in runs))
    s0, s1 = per_step
    layer_step = max((s1 - s0) / (l1 - l0), forward_layer)
    step_fixed = max(s0 - l0 * layer_step, 0.0)

    # lm-eval runs of two sizes on the shallow model: set-up per run, and the cost per batched
    # pass (the model's forward plus lm-eval's own batching, padding and scoring) at that depth.
    (p0, t0), (p1, t1) = samples.evals
    per_pass = max((t1 - t0) / (p1 - p0), forward_fixed + l0 * forward_layer)
    return FrameworkOverhead(
        train_setup_s=max(min(setups), 0.0),
        train_step_s=step_fixed,
        train_layer_step_s=layer_step,
        forward_s=per_pass - l0 * forward_layer,
        forward_layer_s=forward_layer,
        eval_setup_s=max(t0 - p0 * per_pass, 0.0),
        machine=machine,
    )


def is_degenerate(fw: FrameworkOverhead) -> bool:
    """True when a busy machine drowned the signal: a training run, a layer and a forward pass
    all cost something, so a zero among them is noise, not a measurement."""
    return fw.train_setup_s <= 0.0 or fw.train_layer_step_s <= 0.0 or fw.forward_layer_s <= 0.0


def least_overhead(profiles: Sequence[FrameworkOverhead]) -> FrameworkOverhead:
    """The profile that predicts the least time for a reference trial (30 layers: 30 training
    steps and 20 evaluation passes): a busy machine only adds time (pure)."""
    return min(profiles, key=lambda fw: fw.train_seconds(30, 30) + fw.eval_seconds(20, 30))


def samples_spread(samples: ProbeSamples) -> float:
    """The spread of the probe's repeated forward passes at its deepest model (pure)."""
    return spread_of(samples.forward[-1])


def _measure_framework_overhead(key: str) -> FrameworkOverhead:
    def run() -> tuple[FrameworkOverhead, float]:
        samples = _probe_samples()
        return fit_framework_overhead(samples, key), samples_spread(samples)

    fw, conditions = measure_until_quiet(
        run, least_overhead, what="framework-overhead", degenerate=is_degenerate
    )
    return replace(fw, conditions=conditions)


def _probe_samples() -> ProbeSamples:
    """Run the probe on the real path: tiny random Llamas through HF ``Trainer`` + peft
    (``objectives.train_lora``), their forward pass, and lm-eval (``objectives.evaluate``)."""
    import tempfile

    import numpy as np
    import torch
    from transformers import AutoTokenizer, TrainerCallback

    from objectives import LoraTrainConfig, make_tiny_random_model, train_lora
    from objectives.assets import tiny_llama
    from objectives.evaluate import evaluate
    from objectives.workload import task_workload

    with tempfile.TemporaryDirectory(prefix="sweeper-overhead-probe-") as tmp:
        tokenizer = AutoTokenizer.from_pretrained(make_tiny_random_model(Path(tmp) / "tok"))

    def model(layers: int) -> Any:
        return tiny_llama(tokenizer, layers=layers)

    forward = []
    x = torch.randint(0, len(tokenizer), (8, 64))
    for layers in PROBE_LAYERS:
        m = model(layers).eval()
        with torch.no_grad():
            for _ in range(3):
                m(x)
            samples = []
            for _ in range(15):
                start = time.perf_counter()
                m(x)
                samples.append(time.perf_counter() - start)
        forward.append(tuple(samples))

    class StepClock(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self.stamps.append(time.perf_counter())

    def train(layers: int) -> tuple[float, tuple[float, ...]]:
        cfg = LoraTrainConfig(
            r=8,
            alpha=16,
            target_modules="all-linear",
            max_steps=PROBE_STEPS,
            batch_size=4,
            seq_len=128,
        )
        clock = StepClock()
        result = train_lora(model(layers), tokenizer, cfg, trainer_callbacks=[clock])[1]
        return result.train_seconds, tuple(float(g) for g in np.diff(clock.stamps))

    train(PROBE_LAYERS[0])  # warm-up: first-use costs (imports, allocator) out of the measurement
    runs = tuple(tuple(train(layers) for _ in range(PROBE_TRAIN_RUNS)) for layers in PROBE_LAYERS)

    m = model(PROBE_LAYERS[0])

    def eval_run(limit: int) -> tuple[float, float]:
        w = task_workload(PROBE_EVAL_TASK, limit=limit)
        passes = -(-w.n_requests // PROBE_EVAL_BATCH)
        seconds = min(
            evaluate(m, tokenizer, [PROBE_EVAL_TASK], limit=limit, batch_size=PROBE_EVAL_BATCH)[
                PROBE_EVAL_TASK
            ].seconds
            for _ in range(2)
        )
        return float(passes), seconds

    eval_run(PROBE_EVAL_LIMITS[0])  # the first run builds lm-eval's task index
    evals = tuple(eval_run(limit) for limit in PROBE_EVAL_LIMITS)
    return ProbeSamples(forward=tuple(forward), train=runs, evals=evals)
