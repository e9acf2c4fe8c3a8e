"""GPU-hours of one job on each GPU of the spec table: the table an estimate shows first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from cost_models._estimate import gpu_hours
from cost_models._gpus import GpuSpec
from cost_models._utilization import default_mfu


@dataclass(frozen=True)
class GpuHoursRow:
    """Hours one GPU needs for the job at ``mfu`` of its dense bf16 peak."""

    gpu: str
    bf16_tflops: float
    mfu: float
    gpu_hours: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gpu_hours_by_gpu(
    flops: float, specs: Iterable[GpuSpec], method: str, mfu: float | None = None
) -> tuple[GpuHoursRow, ...]:
    """One row per GPU with a bf16 figure, fastest first: ``flops`` at ``mfu`` (given), else at
    ``method``'s default MFU on that GPU."""
    rows = []
    for spec in sorted(specs, key=lambda s: -(s.bf16_tflops or 0)):
        if spec.bf16_tflops is None:
            continue
        used = mfu if mfu is not None else default_mfu(method, spec.name)
        rows.append(GpuHoursRow(spec.name, spec.bf16_tflops, used, gpu_hours(flops, spec, used)))
    return tuple(rows)
