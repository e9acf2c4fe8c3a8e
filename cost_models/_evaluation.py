"""Evaluation cost: prefill of the prompts (compute-bound) plus decoding of the answers.

Prefill costs ≈ 2·N FLOPs per prompt token and runs at the prefill MFU; generated tokens are
decoded at the bandwidth-bound rate of ``decode_rate`` for the chosen batch (reference
cloud-costs.md §5, "Evaluation cost").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cost_models._dtypes import Dtype
from cost_models._gpus import GpuSpec
from cost_models._model_shapes import ModelShape
from cost_models._serving import decode_rate
from cost_models._utilization import default_mfu
from cost_models.errors import InvalidInputError


@dataclass(frozen=True)
class EvaluationEstimate:
    """Hours of one instance (``gpu_count`` GPUs) to evaluate, split into prefill and decode."""

    flops: float
    prefill_hours: float
    decode_hours: float
    gpu_count: int

    @property
    def hours(self) -> float:
        return self.prefill_hours + self.decode_hours

    @property
    def gpu_hours(self) -> float:
        return self.hours * self.gpu_count


def evaluation_flops(params: float, prompt_tokens: float, generated_tokens: float) -> float:
    """≈ 2·N FLOPs per prompt or generated token."""
    for name, value in (
        ("params", params),
        ("prompt_tokens", prompt_tokens),
        ("generated_tokens", generated_tokens),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise InvalidInputError(f"{name} must be >= 0, but got {value!r}.")
    return 2.0 * params * (prompt_tokens + generated_tokens)


def evaluation_hours(
    shape: ModelShape,
    gpu: GpuSpec,
    *,
    prompt_tokens: float,
    generated_tokens: float,
    gpu_count: int = 1,
    batch: int = 8,
    seq_len: int = 2048,
    weight_dtype: Dtype = "bf16",
    kv_dtype: Dtype = "bf16",
    mfu: float | None = None,
    mbu: float | None = None,
) -> EvaluationEstimate:
    """Instance-hours to prefill ``prompt_tokens`` and generate ``generated_tokens``."""
    prefill_mfu = default_mfu("prefill", gpu.name) if mfu is None else mfu
    if not (0 < prefill_mfu <= 1):
        raise InvalidInputError(f"An MFU must be in (0, 1], but got {prefill_mfu!r}.")
    prefill_flops = evaluation_flops(shape.params, prompt_tokens, 0.0)
    prefill_hours = prefill_flops / (gpu_count * gpu.peak_flops_per_second * prefill_mfu * 3600.0)
    decode_hours = 0.0
    if generated_tokens > 0:
        rate = decode_rate(
            shape,
            gpu,
            gpu_count=gpu_count,
            weight_dtype=weight_dtype,
            seq_len=seq_len,
            batch=batch,
            kv_dtype=kv_dtype,
            mbu=mbu,
        )
        decode_hours = generated_tokens / rate.tokens_per_second / 3600.0
    return EvaluationEstimate(
        flops=evaluation_flops(shape.params, prompt_tokens, generated_tokens),
        prefill_hours=prefill_hours,
        decode_hours=decode_hours,
        gpu_count=gpu_count,
    )
