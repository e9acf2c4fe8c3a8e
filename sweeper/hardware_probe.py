"""Measuring the machine trials run on, for quotes made before any trial has run.

Two micro-benchmarks (about a second in all): dense fp32 matmul throughput and memory-copy
bandwidth. Results are cached per machine in the sweeper cache directory.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path


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
    path = cache_dir() / "machine_speed.json"
    if not refresh and path.exists():
        try:
            cached = json.loads(path.read_text())
            if cached.get("machine") == key:
                return MachineSpeed(**cached)
        except (ValueError, TypeError):
            pass
    speed = MachineSpeed(_matmul_tflops(), _bandwidth_gb_s(), key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(speed)))
    return speed


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
