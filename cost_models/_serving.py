"""Serving cost: decode throughput bound by memory bandwidth, priced per token and per month.

Each decode step reads every weight once plus the KV cache of the batch, so tokens/s (summed over
the batch) ≤ bandwidth · batch / (weight bytes + KV bytes) — the reference's decode bound and
Databricks' MBU definition. Real systems reach 60–85% of it (the ``decode`` default in the
utilization table). Decoding also costs 2·N FLOPs per token, which caps large batches.
The instance's GPUs serve one model replica together (tensor parallelism).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from cost_models._dtypes import Dtype
from cost_models._fx import FxRates
from cost_models._gpus import GpuSpec, gpu_spec
from cost_models._hours import HOURS_PER_MONTH
from cost_models._memory import GIB, MemoryEstimate, serving_memory_bytes
from cost_models._model_shapes import ModelShape
from cost_models._offer import Offer
from cost_models._pricing import eur_per_hour
from cost_models._pricing_models import PricingModel
from cost_models._utilization import default_mbu, default_mfu
from cost_models.errors import GpuSpecError, InvalidInputError


@dataclass(frozen=True)
class DecodeRate:
    """Decode throughput of one replica, in tokens/s summed over the batch."""

    tokens_per_second: float
    bandwidth_bound_tokens_per_second: float
    compute_bound_tokens_per_second: float
    bytes_per_step: float
    mbu: float


@dataclass(frozen=True)
class ServingEstimate:
    """Cost of serving ``tokens_per_month`` generated tokens on ``offer``."""

    offer: Offer
    pricing: PricingModel
    memory: MemoryEstimate
    decode: DecodeRate
    eur_per_hour: float
    eur_per_million_tokens: float
    tokens_per_month: float
    replicas: int
    eur_per_month: float
    load: float
    hours_in_month: float


def decode_rate(
    shape: ModelShape,
    gpu: GpuSpec,
    *,
    gpu_count: int = 1,
    weight_dtype: Dtype = "bf16",
    seq_len: int = 4096,
    batch: int = 1,
    kv_dtype: Dtype = "bf16",
    mbu: float | None = None,
) -> DecodeRate:
    """Achievable decode tokens/s: min(bandwidth bound · MBU, compute bound at prefill MFU)."""
    utilization = default_mbu(gpu.name) if mbu is None else mbu
    if not (0 < utilization <= 1):
        raise InvalidInputError(
            f"A memory-bandwidth utilization must be in (0, 1], but got {utilization!r}."
        )
    memory = serving_memory_bytes(shape, weight_dtype, seq_len, batch, kv_dtype)
    bytes_per_step = memory.weights_bytes + memory.kv_cache_bytes
    bandwidth_bound = gpu_count * gpu.bandwidth_bytes_per_second * batch / bytes_per_step
    try:
        compute_bound = (
            gpu_count
            * gpu.peak_flops_per_second
            * default_mfu("prefill", gpu.name)
            / (2.0 * shape.params)
        )
    except GpuSpecError:
        compute_bound = math.inf
    return DecodeRate(
        tokens_per_second=min(bandwidth_bound * utilization, compute_bound),
        bandwidth_bound_tokens_per_second=bandwidth_bound,
        compute_bound_tokens_per_second=compute_bound,
        bytes_per_step=bytes_per_step,
        mbu=utilization,
    )


def serving_cost(
    shape: ModelShape,
    weight_dtype: Dtype,
    offer: Offer,
    pricing: PricingModel,
    fx: FxRates,
    tokens_per_month: float,
    *,
    batch: int = 1,
    seq_len: int = 4096,
    kv_dtype: Dtype = "bf16",
    mbu: float | None = None,
    safety_margin: float = 0.1,
    gpu_specs: Mapping[str, GpuSpec] | None = None,
    hours_in_month: float = HOURS_PER_MONTH,
) -> ServingEstimate:
    """€ per million tokens at full load, and € per month for always-on replicas at the traffic.

    Raises ``InvalidInputError`` when the weights and KV cache (plus ``safety_margin``) do not fit
    the instance's GPU memory.
    """
    if not (math.isfinite(tokens_per_month) and tokens_per_month >= 0):
        raise InvalidInputError(f"Tokens per month must be >= 0, but got {tokens_per_month!r}.")
    spec = gpu_spec(offer.gpu_model, dict(gpu_specs) if gpu_specs is not None else None)
    memory = serving_memory_bytes(shape, weight_dtype, seq_len, batch, kv_dtype)
    need_gib = memory.per_gpu_bytes(offer.gpu_count) * (1 + safety_margin) / GIB
    if need_gib > offer.gpu_memory_gib:
        raise InvalidInputError(
            f"Weights and KV cache must fit in GPU memory, but {shape.name} needs {need_gib:.1f} "
            f"GiB per GPU (with {safety_margin:.0%} margin) and {offer.label} has "
            f"{offer.gpu_memory_gib:g} GiB per GPU."
        )
    rate = decode_rate(
        shape,
        spec,
        gpu_count=offer.gpu_count,
        weight_dtype=weight_dtype,
        seq_len=seq_len,
        batch=batch,
        kv_dtype=kv_dtype,
        mbu=mbu,
    )
    hourly_eur = eur_per_hour(offer, pricing, fx)
    tokens_per_replica_month = rate.tokens_per_second * 3600.0 * hours_in_month
    replicas = max(1, math.ceil(tokens_per_month / tokens_per_replica_month))
    return ServingEstimate(
        offer=offer,
        pricing=pricing,
        memory=memory,
        decode=rate,
        eur_per_hour=hourly_eur,
        eur_per_million_tokens=hourly_eur / (rate.tokens_per_second * 3600.0) * 1e6,
        tokens_per_month=tokens_per_month,
        replicas=replicas,
        eur_per_month=replicas * hours_in_month * hourly_eur,
        load=tokens_per_month / (replicas * tokens_per_replica_month),
        hours_in_month=hours_in_month,
    )
