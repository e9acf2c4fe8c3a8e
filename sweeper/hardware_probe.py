"""Measuring the machine trials run on, for quotes made before any trial has run.

Two micro-benchmarks (about a second in all): dense fp32 matmul throughput and memory-copy
bandwidth; and the framework's overhead (``framework_overhead``: a few seconds of tiny LoRA
trainings and lm-eval runs). Results are cached per machine in the sweeper cache directory.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class MachineSpeed:
    matmul_tflops: float
    memory_bandwidth_gb_s: float
    machine: str


def cache_dir() -> Path:
    return Path(os.environ.get("SWEEPER_CACHE_DIR", Path.home() / ".cache" / "llm-cost-sweeper"))


def machine_speed(refresh: bool = False) -> MachineSpeed:
    """This machine's measured matmul TFLOP/s and memory bandwidth (cached)."""
    key = f"{platform.node()}-{platform.machine()}-{os.cpu_count()}"
    return _cached(
        "machine_speed.json",
        key,
        MachineSpeed,
        lambda: MachineSpeed(_matmul_tflops(), _bandwidth_gb_s(), key),
        refresh,
    )


def _cached(name: str, key: str, cls: type[T], measure: Callable[[], T], refresh: bool) -> T:
    """The measurement stored in ``cache_dir() / name`` for machine ``key``, else a new one."""
    path = cache_dir() / name
    if not refresh and path.exists():
        try:
            cached = json.loads(path.read_text())
            if cached.get("machine") == key:
                return cls(**cached)
        except (ValueError, TypeError):
            pass
    value = measure()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(value)))  # type: ignore[call-overload]
    return value


def _matmul_tflops(n: int = 1024, seconds: float = 0.6) -> float:
    import torch

    a = torch.randn(n, n)
    b = torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        count += 1
    elapsed = time.perf_counter() - start
    return 2 * n**3 * count / elapsed / 1e12


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
    import torch
    import transformers

    key = (
        f"{platform.node()}-{platform.machine()}-{os.cpu_count()}-torch{torch.__version__}"
        f"-transformers{transformers.__version__}-probe{PROBE_VERSION}"
    )
    return _cached(
        "framework_overhead.json",
        key,
        FrameworkOverhead,
        lambda: _measure_framework_overhead(key),
        refresh,
    )


#: Bumped when the probe's method changes, so machines' cached profiles are measured again.
PROBE_VERSION = 2
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


#: Probe attempts before a degenerate profile is kept (with a warning).
PROBE_ATTEMPTS = 3


def _measure_framework_overhead(key: str) -> FrameworkOverhead:
    import warnings

    for _ in range(PROBE_ATTEMPTS):
        fw = fit_framework_overhead(_probe_samples(), key)
        if not is_degenerate(fw):
            return fw
    warnings.warn(
        f"The framework-overhead probe measured {fw} on a machine too busy to separate set-up "
        f"from per-step and per-layer costs ({PROBE_ATTEMPTS} attempts); quotes use it as is. "
        "Re-measure on a quieter machine: delete framework_overhead.json in "
        f"{cache_dir()}.",
        RuntimeWarning,
        stacklevel=3,
    )
    return fw


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
