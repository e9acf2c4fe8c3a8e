"""Workloads: what a job needs (memory) and how to price it on one offer.

A training workload is FLOPs + memory + method (for the MFU); a serving workload is a model, a
context and a monthly traffic. Both answer ``price_on(offer, gpu, pricing, fx, calibration)`` with
the € of the *whole* job on that offer, which is what instance selection ranks by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cost_models._dtypes import Dtype
from cost_models._estimate import gpu_hours, training_flops
from cost_models._fx import FxRates
from cost_models._gpus import GpuSpec
from cost_models._hours import HOURS_PER_MONTH
from cost_models._memory import (
    MemoryEstimate,
    Optimizer,
    TrainingMethod,
    as_shape,
    serving_memory_bytes,
    training_memory_bytes,
)
from cost_models._model_shapes import ModelShape, lora_adapter_params
from cost_models._offer import Offer
from cost_models._pricing import eur_per_hour
from cost_models._pricing_models import PricingModel
from cost_models._serving import serving_cost
from cost_models._utilization import Calibration
from cost_models.errors import InvalidInputError

_METHOD_LABELS = {"lora": "LoRA", "qlora": "QLoRA", "full": "Full"}


@dataclass(frozen=True)
class PricedOption:
    """One feasible offer with the hours it is billed for the job and the job's total €."""

    offer: Offer
    pricing: PricingModel
    eur_per_hour: float
    hours: float
    cost_eur: float
    utilization: float
    utilization_source: str
    detail: Mapping[str, float] = field(default_factory=dict)

    @property
    def gpu_hours(self) -> float:
        return self.hours * self.offer.gpu_count

    def to_dict(self) -> dict[str, Any]:
        """The offer, its price and the job's hours and euros, then ``detail``."""
        o = self.offer
        data: dict[str, Any] = {
            "provider": o.provider,
            "instance_type": o.instance_type,
            "region": o.region,
            "gpu_model": o.gpu_model,
            "gpu_count": o.gpu_count,
            "pricing": self.pricing,
            "eur_per_hour": self.eur_per_hour,
            "hours": self.hours,
            "gpu_hours": self.gpu_hours,
            "cost_eur": self.cost_eur,
            "utilization": self.utilization,
            "utilization_source": self.utilization_source,
            "price_date": o.price_date,
        }
        data.update(self.detail)
        return data


class Workload(Protocol):
    """What instance selection needs from a job."""

    @property
    def memory(self) -> MemoryEstimate: ...

    def describe(self) -> str: ...

    def price_on(
        self,
        offer: Offer,
        gpu: GpuSpec,
        pricing: PricingModel,
        fx: FxRates,
        calibration: Calibration,
    ) -> PricedOption: ...


@dataclass(frozen=True)
class TrainingWorkload:
    """A fine-tuning job: ``flops`` of model compute needing ``memory``.

    Time on an instance = GPU-hours at the method's MFU (calibrated, else default; ``mfu``
    overrides both) divided by its GPU count, i.e. data-parallel scaling is taken as linear.
    """

    flops: float
    memory: MemoryEstimate
    method: TrainingMethod
    params: float
    tokens: float
    adapter_params: float = 0.0
    mfu: float | None = None
    description: str = ""

    def describe(self) -> str:
        return self.description or f"{_METHOD_LABELS[self.method]} fine-tune"

    def price_on(
        self,
        offer: Offer,
        gpu: GpuSpec,
        pricing: PricingModel,
        fx: FxRates,
        calibration: Calibration,
    ) -> PricedOption:
        if self.mfu is not None:
            mfu, source = self.mfu, "given"
        else:
            mfu, source = (
                calibration.mfu(self.method, gpu.name),
                calibration.describe(self.method, gpu.name),
            )
        hours = gpu_hours(self.flops, gpu, mfu) / offer.gpu_count
        hourly_eur = eur_per_hour(offer, pricing, fx)
        return PricedOption(offer, pricing, hourly_eur, hours, hours * hourly_eur, mfu, source)


@dataclass(frozen=True)
class ServingWorkload:
    """Always-on serving of ``tokens_per_month`` generated tokens, ranked by € per month."""

    shape: ModelShape
    tokens_per_month: float
    weight_dtype: Dtype = "bf16"
    kv_dtype: Dtype = "bf16"
    seq_len: int = 4096
    batch: int = 1
    mbu: float | None = None
    hours_in_month: float = HOURS_PER_MONTH

    @property
    def memory(self) -> MemoryEstimate:
        return serving_memory_bytes(
            self.shape, self.weight_dtype, self.seq_len, self.batch, self.kv_dtype
        )

    @property
    def flops_per_token(self) -> float:
        return 2.0 * self.shape.params

    def describe(self) -> str:
        traffic = f"{self.tokens_per_month:.3g} tokens/month"
        return f"serving {self.shape.name} ({self.weight_dtype}), {traffic}"

    def price_on(
        self,
        offer: Offer,
        gpu: GpuSpec,
        pricing: PricingModel,
        fx: FxRates,
        calibration: Calibration,
    ) -> PricedOption:
        estimate = serving_cost(
            self.shape,
            self.weight_dtype,
            offer,
            pricing,
            fx,
            self.tokens_per_month,
            batch=self.batch,
            seq_len=self.seq_len,
            kv_dtype=self.kv_dtype,
            mbu=self.mbu,
            safety_margin=0.0,
            gpu_specs={gpu.name: gpu},
            hours_in_month=self.hours_in_month,
        )
        return PricedOption(
            offer=offer,
            pricing=pricing,
            eur_per_hour=estimate.eur_per_hour,
            hours=estimate.replicas * self.hours_in_month,
            cost_eur=estimate.eur_per_month,
            utilization=estimate.decode.mbu,
            utilization_source="MBU default" if self.mbu is None else "given",
            detail={
                "tokens_per_second": estimate.decode.tokens_per_second,
                "eur_per_million_tokens": estimate.eur_per_million_tokens,
                "replicas": float(estimate.replicas),
                "load": estimate.load,
            },
        )


def training_workload(
    shape_or_params: ModelShape | float,
    tokens: float,
    method: TrainingMethod,
    *,
    lora_rank: int = 16,
    target_modules: Sequence[str] | Literal["all-linear"] = "all-linear",
    dtype: Dtype | None = None,
    seq_len: int = 2048,
    batch: int = 1,
    checkpointing: bool = True,
    optimizer: Optimizer = "adamw",
    mfu: float | None = None,
) -> TrainingWorkload:
    """FLOPs, memory and adapter size of a fine-tune, ready for ``cheapest_instance``.

    A bare parameter count gets a Llama-like approximate shape for activations and adapters.
    """
    if mfu is not None and not (0 < mfu <= 1):
        raise InvalidInputError(f"An MFU must be in (0, 1], but got {mfu!r}.")
    shape = as_shape(shape_or_params)
    adapters = 0 if method == "full" else lora_adapter_params(shape, lora_rank, target_modules)
    flops = training_flops(shape.params, tokens, method, adapters)
    memory = training_memory_bytes(
        shape,
        method,
        dtype=dtype,
        adapter_params=adapters,
        seq_len=seq_len,
        batch=batch,
        checkpointing=checkpointing,
        optimizer=optimizer,
    )
    return TrainingWorkload(
        flops=flops,
        memory=memory,
        method=method,
        params=float(shape.params),
        tokens=float(tokens),
        adapter_params=float(adapters),
        mfu=mfu,
        description=f"{_METHOD_LABELS[method]} fine-tune of {shape.name} on {tokens:.3g} tokens",
    )
