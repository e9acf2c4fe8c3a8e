"""What a trial costs: its own compute, and the full-scale fine-tune it stands for.

Pure functions over the study's declarations, the cost model and a trial's measurements; the
catalog, FX table and GPU specs are loaded once at the edge (``PricingContext.load``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cost_models
from sweeper.search import LoraSettings
from sweeper.study import Study


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
            "train_flops_projected": self.train_flops_projected,
            "gpu_hours_train_projected": self.gpu_hours_train_projected,
            "cost_eur_train_projected": self.cost_eur_train_projected,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_training(
    study: Study,
    settings: LoraSettings,
    ctx: PricingContext,
    *,
    trial_adapter_fraction: float | None = None,
) -> ProjectedTraining:
    """Price fine-tuning ``settings`` at the study's full scale on its target instance.

    FLOPs follow the cost model (LoRA ~ 4*N*D plus adapter terms, full ~ 6*N*D) with
    D = projection.dataset_tokens x epochs. Adapter parameters come from the target model's
    shape when a preset is named, else from the trial model's adapter fraction.
    """
    proj = study.projection
    shape = cost_models.model_shape(proj.model) if proj.model else None
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
    offer = ctx.catalog.offer(target.instance, provider=target.provider, region=target.region)
    gpu = cost_models.gpu_spec(offer.gpu_model)
    mfu = target.mfu if target.mfu is not None else cost_models.default_mfu(proj.method, gpu.name)
    gpu_hours = cost_models.gpu_hours(flops, gpu, mfu)
    instance_hours = gpu_hours / max(int(offer.gpu_count), 1)
    rate = cost_models.eur_per_hour(offer, target.pricing, ctx.fx)
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
        target_pricing=target.pricing,
        target_eur_per_hour=rate,
        mfu=mfu,
    )
