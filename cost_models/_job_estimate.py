"""A job's estimate as one result: what it computes and holds, where it runs cheapest, in euros.

``sweeper estimate`` prints these; ``to_dict`` is its ``--json`` document.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cost_models._catalog import Catalog
from cost_models._estimate import training_flops
from cost_models._fx import FxRates
from cost_models._gpu_hours_table import GpuHoursRow, gpu_hours_by_gpu
from cost_models._gpus import GpuSpec
from cost_models._selection import Placement
from cost_models._utilization import default_utilization
from cost_models._workload import ServingWorkload, TrainingWorkload


@dataclass(frozen=True)
class TrainingJobEstimate:
    """A fine-tune: its settings, FLOPs, memory, GPU-hours on each GPU, and the placement.

    ``target_modules`` is as the user wrote it (``all-linear`` or a comma list)."""

    workload: TrainingWorkload
    model: str
    lora_rank: int
    target_modules: str
    seq_len: int
    batch: int
    checkpointing: bool
    gpu_hours_by_gpu: tuple[GpuHoursRow, ...]
    placement: Placement
    fx: FxRates
    catalog: Catalog

    @property
    def is_full(self) -> bool:
        return self.workload.method == "full"

    @property
    def flops_formula(self) -> str:
        return "6·N·D" if self.is_full else "4·N·D + 6·A·D"

    @property
    def hardware_flops_with_recompute(self) -> float:
        """Model FLOPs plus the forward pass activation checkpointing recomputes."""
        w = self.workload
        return training_flops(w.params, w.tokens, w.method, w.adapter_params, recompute=True)

    @property
    def mfu_default_source(self) -> str:
        return default_utilization(self.workload.method, "*").source

    def to_dict(self) -> dict[str, Any]:
        w = self.workload
        return {
            "workload": {
                "method": w.method,
                "model": self.model,
                "params": w.params,
                "tokens": w.tokens,
                "adapter_params": w.adapter_params,
                "lora_rank": None if self.is_full else self.lora_rank,
                "target_modules": None if self.is_full else self.target_modules,
                "seq_len": self.seq_len,
                "batch": self.batch,
                "checkpointing": self.checkpointing,
            },
            "flops": w.flops,
            "flops_formula": self.flops_formula,
            "hardware_flops_with_recompute": self.hardware_flops_with_recompute,
            "memory": w.memory.to_dict(),
            "mfu_default_source": self.mfu_default_source,
            "gpu_hours_by_gpu": [row.to_dict() for row in self.gpu_hours_by_gpu],
            **_placement_and_provenance(self.placement, self.fx, self.catalog),
        }


@dataclass(frozen=True)
class ServingJobEstimate:
    """Always-on serving: the workload, its memory and compute per token, and the placement."""

    workload: ServingWorkload
    placement: Placement
    fx: FxRates
    catalog: Catalog

    @property
    def mbu_default_source(self) -> str:
        return default_utilization("decode", "*").source

    def to_dict(self) -> dict[str, Any]:
        w = self.workload
        return {
            "workload": {
                "method": "serve",
                "model": w.shape.name,
                "params": w.shape.params,
                "tokens_per_month": w.tokens_per_month,
                "weight_dtype": w.weight_dtype,
                "kv_dtype": w.kv_dtype,
                "seq_len": w.seq_len,
                "batch": w.batch,
            },
            "flops_per_token": w.flops_per_token,
            "memory": w.memory.to_dict(),
            "mbu_default_source": self.mbu_default_source,
            **_placement_and_provenance(self.placement, self.fx, self.catalog),
        }


def training_job_estimate(
    workload: TrainingWorkload,
    placement: Placement,
    *,
    model: str,
    lora_rank: int,
    target_modules: str,
    seq_len: int,
    batch: int,
    checkpointing: bool,
    gpu_specs: Iterable[GpuSpec],
    fx: FxRates,
    catalog: Catalog,
) -> TrainingJobEstimate:
    """The estimate of ``workload`` placed at ``placement``, with its GPU-hours on every GPU."""
    return TrainingJobEstimate(
        workload=workload,
        model=model,
        lora_rank=lora_rank,
        target_modules=target_modules,
        seq_len=seq_len,
        batch=batch,
        checkpointing=checkpointing,
        gpu_hours_by_gpu=gpu_hours_by_gpu(workload.flops, gpu_specs, workload.method, workload.mfu),
        placement=placement,
        fx=fx,
        catalog=catalog,
    )


def _placement_and_provenance(placement: Placement, fx: FxRates, catalog: Catalog) -> dict:
    return {
        "placement": placement.to_dict(),
        "fx": fx.to_dict(),
        "catalog": catalog.to_dict(),
        "price_dates": placement.price_dates(),
    }
