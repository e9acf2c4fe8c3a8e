"""Each benchmark's --smoke run: it runs end to end and ends with its ratio line (no timing
limits: the numbers on a shared CI machine mean nothing; the full runs are in the README)."""

from __future__ import annotations

import importlib
import re

import pytest

RATIO_LINES = {
    "bench_overhead": r"^ratio \(our extra per trial / MLflowCallback's extra per trial\): \d",
    "bench_search": r"^ratios \(EUR to 95% HV vs random, median \[IQR\]\): random 1\.00",
    "bench_estimate": r"^ratio \(calibrated/measured\): \d+/\d+ case\(s\) within \+-25%",
    "bench_scale": r"^ratio \(3 workers / 1 worker, trials per minute\): (\d|skipped)",
    "bench_throughput": r"^ratio \(ours / plain, median tokens per second\): \d",
    "gpu_check": r"^ratio \(measured / predicted tokens per second\): ",
}


@pytest.mark.parametrize("name", sorted(RATIO_LINES))
def test_smoke_run_prints_its_ratio_line_last(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.main(["--smoke"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert re.search(RATIO_LINES[name], lines[-1]), lines[-5:]
