"""One instance offer: a catalog row with typed fields."""

from __future__ import annotations

from dataclasses import dataclass

from cost_models._pricing_models import PricingModel, check_pricing_model


@dataclass(frozen=True)
class Offer:
    """One instance type in one region of one provider, priced per instance-hour in ``currency``.

    Prices are ``None`` where the source has none (``notes`` says why). Reserved prices are the
    effective hourly rate with any upfront payment folded in. ``gpu_memory_gib`` is per GPU.
    ``price_date`` is ISO 8601, possibly of reduced precision (``2025`` or ``2026-07``) where the
    source dates its prices only that finely.
    """

    provider: str
    instance_type: str
    region: str
    gpu_model: str
    gpu_count: int
    gpu_memory_gib: float
    vcpus: float | None
    ram_gib: float | None
    currency: str
    on_demand_per_hour: float | None
    spot_per_hour: float | None
    reserved_1y_per_hour: float | None
    reserved_3y_per_hour: float | None
    price_date: str
    source: str
    notes: str = ""

    @property
    def total_gpu_memory_gib(self) -> float:
        return self.gpu_count * self.gpu_memory_gib

    @property
    def label(self) -> str:
        """E.g. ``azure Standard_NC24ads_A100_v4 (eastus)``."""
        return f"{self.provider} {self.instance_type} ({self.region})"

    def price_per_hour(self, pricing: PricingModel) -> float | None:
        """The price per instance-hour in ``self.currency`` for ``pricing``; None when unknown."""
        check_pricing_model(pricing)
        value: float | None = getattr(self, f"{pricing}_per_hour")
        return value
