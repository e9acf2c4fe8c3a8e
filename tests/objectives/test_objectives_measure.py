"""measure_resources: wall time and a peak RSS that sees a short-lived allocation."""

from __future__ import annotations

import mmap
import time

import pytest

from objectives import measure_resources


def test_reports_wall_time_and_peak_rss() -> None:
    with measure_resources(sample_interval_s=0.01) as usage:
        before = usage.peak_memory_bytes
        # A fresh anonymous mapping: its pages add to RSS once touched, whatever memory the
        # allocator of this (long-lived test) process already holds and could reuse.
        block = mmap.mmap(-1, 64 * 1024 * 1024)
        for offset in range(0, len(block), mmap.PAGESIZE):
            block[offset] = 1
        time.sleep(0.1)
        block.close()
    assert usage.wall_seconds >= 0.1
    assert usage.peak_memory_bytes >= before + 32 * 1024 * 1024


def test_rejects_a_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="sample_interval_s"):
        with measure_resources(sample_interval_s=0):
            pass
