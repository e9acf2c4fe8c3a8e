"""What a trial costs: its own compute, and the full-scale fine-tune it stands for.

Pure functions over the study's declarations, the cost model and a trial's measurements; the
catalog, FX table and GPU specs are loaded once at the edge (``PricingContext.load``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cost_models
from sweeper.metrics import (
    COST_EUR_PER_MTOK_SERVING,
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    GPU_HOURS_TRAIN_PROJECTED,
    SERVING_MEMORY_GIB,
    SERVING_REPLICAS,
    SERVING_TOKENS_PER_SECOND,
    TRAIN_FLOPS_PROJECTED,
)
from sweeper.model_config import study_model_shape
from sweeper.search import LoraSettings
from sweeper.study import Study


class ServingNotDeclaredError(cost_models.CostModelError):
    """Serving is priced from the study's ``serving`` section, and the study has none."""


@dataclass(frozen=True)
class PricingContext:
    """The loaded price data every trial of a study is priced with (and its provenance)."""

    catalog: Any
    fx: Any

    @classmethod
    def load(cls) -> PricingContext:
        return cls(catalog=cost_models.load_catalog(), fx=cost_models.load_fx_rates())

    def provenance(self) -> dict[str, str]:
        return {
            "catalog.version": str(self.catalog.version),
            "catalog.sha256": str(self.catalog.sha256),
            "fx": self.fx.describe(),
        }


@dataclass(frozen=True)
class TrialHardwarePrice:
    name: str
    eur_per_hour: float
    source: str


def trial_hardware_price(study: Study, ctx: PricingContext) -> TrialHardwarePrice:
    """EUR per hour of the machine trials run on: declared, or a catalog instance's price."""
    hw = study.hardware.trial
    if hw.eur_per_hour is not None:
        return TrialHardwarePrice(hw.name, float(hw.eur_per_hour), "declared in the study file")
    offer = ctx.catalog.offer(hw.instance, provider=hw.provider, region=hw.region)
    rate = cost_models.eur_per_hour(offer, hw.pricing, ctx.fx)
    return TrialHardwarePrice(
        f"{offer.provider}/{offer.instance_type}",
        rate,
        f"{hw.pricing} price of {offer.price_date} ({ctx.fx.describe()})",
    )


def cost_eur_for_seconds(seconds: float, eur_per_hour: float) -> float:
    """EUR for ``seconds`` of a machine that costs ``eur_per_hour``."""
    return seconds / 3600.0 * eur_per_hour


@dataclass(frozen=True)
class ProjectedTraining:
    """The full-scale fine-tune of one configuration, priced on the study's target instance."""

    train_flops_projected: float
    gpu_hours_train_projected: float
    instance_hours_train_projected: float
    cost_eur_train_projected: float
    adapter_params_projected: float
    target_params: float
    target_tokens: float
    target_instance: str
    target_gpu: str
    target_gpu_count: int
    target_pricing: str
    target_eur_per_hour: float
    mfu: float

    def metrics(self) -> dict[str, float]:
        return {
            TRAIN_FLOPS_PROJECTED: self.train_flops_projected,
            GPU_HOURS_TRAIN_PROJECTED: self.gpu_hours_train_projected,
            COST_EUR_TRAIN_PROJECTED: self.cost_eur_train_projected,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_training(
    study: Study,
    settings: LoraSettings,
    ctx: PricingContext,
    *,
    trial_adapter_fraction: float | None = None,
    target_instance: str | None = None,
    target_pricing: str | None = None,
) -> ProjectedTraining:
    """Price fine-tuning ``settings`` at the study's full scale on its target instance.

    FLOPs follow the cost model (LoRA ~ 4*N*D plus adapter terms, full ~ 6*N*D) with
    D = projection.dataset_tokens x epochs. Adapter parameters come from the target model's
    shape when it is known (a preset named, or the study's own model), else from the trial
    model's adapter fraction.
    """
    proj = study.projection
    shape = _projection_model_shape(study)
    params = float(proj.params if proj.params is not None else shape.params)
    if shape is not None and proj.method != "full":
        adapter = float(cost_models.lora_adapter_params(shape, settings.r, settings.target_modules))
    elif proj.method != "full" and trial_adapter_fraction is not None:
        adapter = params * trial_adapter_fraction
    else:
        adapter = 0.0
    tokens = proj.dataset_tokens * settings.epochs
    flops = cost_models.training_flops(params, tokens, proj.method, adapter_params=adapter)
    target = study.hardware.target
    offer = target_offer(study, ctx, target_instance)
    pricing = target_pricing or target.pricing
    gpu = cost_models.gpu_spec(offer.gpu_model)
    mfu = target.mfu if target.mfu is not None else cost_models.default_mfu(proj.method, gpu.name)
    gpu_hours = cost_models.gpu_hours(flops, gpu, mfu)
    instance_hours = gpu_hours / max(int(offer.gpu_count), 1)
    rate = cost_models.eur_per_hour(offer, pricing, ctx.fx)
    return ProjectedTraining(
        train_flops_projected=flops,
        gpu_hours_train_projected=gpu_hours,
        instance_hours_train_projected=instance_hours,
        cost_eur_train_projected=instance_hours * rate,
        adapter_params_projected=adapter,
        target_params=params,
        target_tokens=tokens,
        target_instance=f"{offer.provider}/{offer.instance_type}",
        target_gpu=gpu.name,
        target_gpu_count=int(offer.gpu_count),
        target_pricing=pricing,
        target_eur_per_hour=rate,
        mfu=mfu,
    )


def target_offer(study: Study, ctx: PricingContext, instance: str | None = None) -> Any:
    """The catalog offer full-scale training is priced on (a sampled instance, or the study's)."""
    target = study.hardware.target
    if instance is not None and instance != target.instance:
        return ctx.catalog.offer(instance)
    return ctx.catalog.offer(target.instance, provider=target.provider, region=target.region)


def _projection_model_shape(study: Study) -> cost_models.ModelShape | None:
    """The full-scale model's shape: the preset ``projection.model``; with neither a preset nor
    ``projection.params``, the study's own model (its ``config.json``); else unknown (None)."""
    proj = study.projection
    if proj.model:
        return cost_models.model_shape(proj.model)
    if proj.params is None:
        return study_model_shape(study.model)
    return None


def _projection_shape(study: Study) -> Any:
    """The full-scale model's shape, or its parameter count when only that is given."""
    shape = _projection_model_shape(study)
    return shape if shape is not None else float(study.projection.params)


@dataclass(frozen=True)
class MemoryFit:
    """Does the full-scale fine-tune fit the target instance's GPUs?"""

    need_gib_per_gpu: float
    have_gib_per_gpu: float
    instance: str

    @property
    def fits(self) -> bool:
        return self.need_gib_per_gpu <= self.have_gib_per_gpu

    def reason(self) -> str:
        return (
            f"does not fit: the full-scale fine-tune needs {self.need_gib_per_gpu:.1f} GiB per GPU "
            f"(10% margin included) and {self.instance} has {self.have_gib_per_gpu:g} GiB per GPU"
        )


def training_memory_fit(
    study: Study,
    settings: LoraSettings,
    ctx: PricingContext,
    *,
    target_instance: str | None = None,
    safety_margin: float = 0.1,
) -> MemoryFit:
    """The cost model's memory estimate of the full-scale fine-tune against the target's GPUs.

    Data-parallel training replicates the model on every GPU, so the whole estimate must fit
    one GPU (the optimizer state of a LoRA is small; sharding would only change that for full).
    """
    proj = study.projection
    shape = _projection_shape(study)
    adapter = (
        float(cost_models.lora_adapter_params(shape, settings.r, settings.target_modules))
        if proj.method != "full" and not isinstance(shape, float)
        else 0.0
    )
    memory = cost_models.training_memory_bytes(
        shape, proj.method, adapter_params=adapter, seq_len=proj.seq_len, batch=proj.micro_batch
    )
    offer = target_offer(study, ctx, target_instance)
    return MemoryFit(
        need_gib_per_gpu=memory.total_bytes * (1 + safety_margin) / 2**30,
        have_gib_per_gpu=float(offer.gpu_memory_gib),
        instance=f"{offer.provider}/{offer.instance_type}",
    )


@dataclass(frozen=True)
class ProjectedServing:
    """Serving the full-scale model at a quantization level, at the study's traffic."""

    weight_dtype: str
    serving_instance: str
    serving_gpu: str
    serving_pricing: str
    serving_eur_per_hour: float
    serving_replicas: int
    serving_memory_gib: float
    serving_tokens_per_second: float
    cost_eur_per_mtok_serving: float
    cost_eur_serving_month: float
    fits_serving_instance: bool
    chosen_by: str

    def metrics(self) -> dict[str, float]:
        return {
            SERVING_MEMORY_GIB: self.serving_memory_gib,
            SERVING_TOKENS_PER_SECOND: self.serving_tokens_per_second,
            COST_EUR_PER_MTOK_SERVING: self.cost_eur_per_mtok_serving,
            COST_EUR_SERVING_MONTH: self.cost_eur_serving_month,
            SERVING_REPLICAS: float(self.serving_replicas),
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_serving(study: Study, weight_dtype: str, ctx: PricingContext) -> ProjectedServing:
    """Price serving ``projection.model`` with weights in ``weight_dtype`` (fp32 ... int4).

    On ``serving.instance`` when the study names one and the model fits it; otherwise on the
    cheapest catalog instance that fits (``cost_models.cheapest_instance``), ranked by € per month.
    """
    serving = study.serving
    if serving is None:
        raise ServingNotDeclaredError(
            "pricing serving needs the study's `serving` section (traffic, batch, context), but "
            f"study {study.name!r} has none"
        )
    # a preset's shape, or one approximated from N
    shape = cost_models.as_shape(_projection_shape(study))
    kw = {"batch": serving.batch, "seq_len": serving.seq_len}
    fits = True
    if serving.instance is not None:
        offer = ctx.catalog.offer(
            serving.instance, provider=serving.provider, region=serving.region
        )
        try:
            est = cost_models.serving_cost(
                shape, weight_dtype, offer, serving.pricing, ctx.fx, serving.tokens_per_month, **kw
            )
            return _serving(est, weight_dtype, True, "serving.instance")
        except cost_models.errors.InvalidInputError:
            fits = False
    workload = cost_models.ServingWorkload(
        shape, serving.tokens_per_month, weight_dtype=weight_dtype, **kw
    )
    placement = cost_models.cheapest_instance(
        ctx.catalog,
        workload,
        ctx.fx,
        pricing=serving.pricing,
        providers=[serving.provider] if serving.provider else None,
    )
    offer = placement.chosen.offer
    est = cost_models.serving_cost(
        shape, weight_dtype, offer, serving.pricing, ctx.fx, serving.tokens_per_month, **kw
    )
    return _serving(est, weight_dtype, fits, "cheapest instance that fits")


def _serving(est: Any, weight_dtype: str, fits: bool, chosen_by: str) -> ProjectedServing:
    return ProjectedServing(
        weight_dtype=weight_dtype,
        serving_instance=f"{est.offer.provider}/{est.offer.instance_type}",
        serving_gpu=str(est.offer.gpu_model),
        serving_pricing=str(est.pricing),
        serving_eur_per_hour=est.eur_per_hour,
        serving_replicas=est.replicas,
        serving_memory_gib=est.memory.total_bytes / 2**30,
        serving_tokens_per_second=est.decode.tokens_per_second,
        cost_eur_per_mtok_serving=est.eur_per_million_tokens,
        cost_eur_serving_month=est.eur_per_month,
        fits_serving_instance=fits,
        chosen_by=chosen_by,
    )
