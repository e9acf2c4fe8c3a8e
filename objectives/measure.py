"""Measuring what a piece of work used: wall time and peak memory.

Peak memory is the process's resident set size (RSS), sampled by a background
thread, so short spikes between samples can be missed; on CUDA the allocator's
exact peak is reported as well.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class ResourceUsage:
    """Filled in when the ``measure_resources`` block exits.

    ``peak_memory_bytes`` is the highest sampled process RSS (bytes);
    ``peak_gpu_memory_bytes`` is ``torch.cuda.max_memory_allocated`` (bytes) or None
    without CUDA; ``wall_seconds`` is the block's wall-clock duration (seconds).
    """

    wall_seconds: float = 0.0
    peak_memory_bytes: int = 0
    peak_gpu_memory_bytes: int | None = None


@contextmanager
def measure_resources(sample_interval_s: float = 0.1) -> Iterator[ResourceUsage]:
    """Measure the wrapped block: ``with measure_resources() as usage: ...``.

    ``sample_interval_s`` is the RSS sampling period in seconds.
    """
    import psutil

    if not sample_interval_s > 0:
        raise ValueError(f"`sample_interval_s` must be > 0, but got {sample_interval_s=}.")
    process = psutil.Process()
    usage = ResourceUsage(peak_memory_bytes=process.memory_info().rss)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(sample_interval_s):
            usage.peak_memory_bytes = max(usage.peak_memory_bytes, process.memory_info().rss)

    cuda = _cuda_available()
    if cuda:
        import torch

        torch.cuda.reset_peak_memory_stats()
    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    start = time.perf_counter()
    sampler.start()
    try:
        yield usage
    finally:
        usage.wall_seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
        usage.peak_memory_bytes = max(usage.peak_memory_bytes, process.memory_info().rss)
        if cuda:
            import torch

            usage.peak_gpu_memory_bytes = int(torch.cuda.max_memory_allocated())


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def release_memory() -> None:
    """Return freed memory to the operating system after a large piece of work (a trial).

    Models are loaded, trained, merged and quantized many times in one sweep process; glibc's
    allocator keeps what Python and PyTorch freed (750 MiB after one SmolLM2-135M trial on the
    demo) unless asked to trim. A no-op where glibc's ``malloc_trim`` is absent (macOS, musl).
    """
    import gc

    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim`` from the symbols already loaded in this process, or None."""
    import ctypes

    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None
