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
    whose FLOPs are negligible, and fitted as ``setup + steps * (step + layers * layer_step)``.
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
        f"-transformers{transformers.__version__}"
    )
    return _cached(
        "framework_overhead.json",
        key,
        FrameworkOverhead,
        lambda: _measure_framework_overhead(key),
        refresh,
    )


#: Depths and step counts of the overhead probe (two of each fit the linear model).
PROBE_LAYERS = (1, 4)
PROBE_STEPS = (1, 5)
#: The lm-eval run of the probe: a multiple-choice task (no generation), a few items.
PROBE_EVAL_TASK, PROBE_EVAL_LIMITS, PROBE_EVAL_BATCH = "sweeper_general", (2, 16), 8


def _measure_framework_overhead(key: str) -> FrameworkOverhead:
    import tempfile

    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from objectives import LoraTrainConfig, make_tiny_random_model, train_lora
    from objectives.assets import tiny_llama
    from objectives.evaluate import evaluate
    from objectives.workload import task_workload

    with tempfile.TemporaryDirectory(prefix="sweeper-overhead-probe-") as tmp:
        tokenizer = AutoTokenizer.from_pretrained(make_tiny_random_model(Path(tmp) / "tok"))

    def model(layers: int) -> Any:
        return tiny_llama(tokenizer, layers=layers)

    def train(layers: int, steps: int) -> float:
        cfg = LoraTrainConfig(
            r=8, alpha=16, target_modules="all-linear", max_steps=steps, batch_size=4, seq_len=128
        )
        return train_lora(model(layers), tokenizer, cfg)[1].train_seconds

    train(PROBE_LAYERS[0], 1)  # warm-up: first-use costs out of the fit
    rows, times = [], []
    for layers in PROBE_LAYERS:
        for steps in PROBE_STEPS:
            rows.append([1.0, steps, steps * layers])
            times.append(min(train(layers, steps) for _ in range(2)))
    setup, step, layer_step = np.linalg.lstsq(np.array(rows), np.array(times), rcond=None)[0]

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
        forward.append(float(np.median(samples)))
    (l0, l1), (f0, f1) = PROBE_LAYERS, forward
    forward_layer = max((f1 - f0) / (l1 - l0), 0.0)
    forward_fixed = max(f0 - l0 * forward_layer, 0.0)

    # lm-eval runs of two sizes on the 1-layer model: its set-up per run, and its cost per batched
    # pass (the model's forward plus lm-eval's own batching, padding and scoring) at that depth.
    m = model(l0)

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
    (p0, t0), (p1, t1) = (eval_run(limit) for limit in PROBE_EVAL_LIMITS)
    per_pass = max((t1 - t0) / (p1 - p0), forward_fixed + l0 * forward_layer)
    eval_setup = t0 - p0 * per_pass
    forward_fixed = per_pass - l0 * forward_layer
    return FrameworkOverhead(
        train_setup_s=max(float(setup), 0.0),
        train_step_s=max(float(step), 0.0),
        train_layer_step_s=max(float(layer_step), 0.0),
        forward_s=forward_fixed,
        forward_layer_s=forward_layer,
        eval_setup_s=max(eval_setup, 0.0),
        machine=key,
    )
