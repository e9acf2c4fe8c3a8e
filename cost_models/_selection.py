"""The cheapest feasible instance for a workload, ranked by € for the whole job.

Every catalog offer is either priced or excluded with a reason, checked in this order:
filters (provider, region, GPU, instance type) → GPU spec known → memory fits → price known.
Memory fits when the job's bytes per GPU, plus the safety margin, are within the GPU's memory,
with the shardable part spread over the instance's GPUs (``MemoryEstimate.per_gpu_bytes``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cost_models._catalog import Catalog
from cost_models._fx import FxRates
from cost_models._gpus import GpuSpec, load_gpu_specs
from cost_models._memory import GIB
from cost_models._names import resolve_name
from cost_models._offer import Offer
from cost_models._pricing_models import PRICING_LABELS, PricingModel, check_pricing_model
from cost_models._utilization import Calibration
from cost_models._workload import PricedOption, Workload
from cost_models.errors import (
    InvalidInputError,
    NoFeasibleInstanceError,
    UnknownInstanceError,
)

ExclusionKind = Literal["filter", "spec", "memory", "price"]


@dataclass(frozen=True)
class Exclusion:
    """An offer that was not priced, and why."""

    offer: Offer
    kind: ExclusionKind
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.offer.provider,
            "instance_type": self.offer.instance_type,
            "region": self.offer.region,
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Placement:
    """The chosen offer, the next-cheapest distinct instance types, and every exclusion."""

    chosen: PricedOption
    runners_up: list[PricedOption]
    excluded: list[Exclusion]
    options: list[PricedOption]
    pricing: PricingModel
    safety_margin: float

    def excluded_by(self, kind: ExclusionKind) -> list[Exclusion]:
        return [e for e in self.excluded if e.kind == kind]

    @property
    def shown_offers(self) -> list[Offer]:
        """The offers a reader is shown: the chosen one, then the runners-up."""
        return [self.chosen.offer, *(o.offer for o in self.runners_up)]

    def price_dates(self) -> list[str]:
        """The distinct price dates of the offers shown, sorted."""
        return sorted({o.price_date for o in self.shown_offers})

    def to_dict(self) -> dict[str, Any]:
        return {
            "pricing": self.pricing,
            "safety_margin": self.safety_margin,
            "chosen": self.chosen.to_dict(),
            "runners_up": [o.to_dict() for o in self.runners_up],
            "excluded": [e.to_dict() for e in self.excluded],
        }


def cheapest_instance(
    catalog: Catalog,
    workload: Workload,
    fx: FxRates,
    *,
    pricing: PricingModel = "on_demand",
    providers: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    gpus: Sequence[str] | None = None,
    instance_types: Sequence[str] | None = None,
    safety_margin: float = 0.1,
    gpu_specs: Mapping[str, GpuSpec] | None = None,
    calibration: Calibration | None = None,
    runners_up: int = 5,
) -> Placement:
    """Price ``workload`` on every eligible offer and return the cheapest with its runners-up.

    ``options`` keeps one row per (provider, instance type) — its cheapest region — cheapest
    first; ``runners_up`` are the first ``runners_up`` of them after the chosen one. Raises
    ``NoFeasibleInstanceError`` (carrying the exclusions) when nothing fits.
    """
    check_pricing_model(pricing)
    if not (0 <= safety_margin < 1):
        raise InvalidInputError(f"A safety margin must be in [0, 1), but got {safety_margin!r}.")
    specs = dict(gpu_specs) if gpu_specs is not None else load_gpu_specs()
    calibration = calibration if calibration is not None else Calibration()
    filters = _filters(catalog, specs, providers, regions, gpus, instance_types)

    priced: list[PricedOption] = []
    excluded: list[Exclusion] = []
    for offer in catalog.all_offers():
        failed = next((reason for keep, reason in filters if not keep(offer)), None)
        if failed is not None:
            excluded.append(Exclusion(offer, "filter", failed))
            continue
        reason, kind = _unfit(offer, specs, workload, safety_margin)
        if reason:
            excluded.append(Exclusion(offer, kind, reason))
            continue
        if offer.price_per_hour(pricing) is None:
            excluded.append(
                Exclusion(offer, "price", f"no {PRICING_LABELS[pricing]} price in the catalog")
            )
            continue
        priced.append(workload.price_on(offer, specs[offer.gpu_model], pricing, fx, calibration))

    if not priced:
        raise NoFeasibleInstanceError(_nothing_fits(workload, excluded, safety_margin), excluded)
    priced.sort(key=_rank)
    best_per_type: dict[tuple[str, str], PricedOption] = {}
    for option in priced:
        best_per_type.setdefault((option.offer.provider, option.offer.instance_type), option)
    options = list(best_per_type.values())
    return Placement(
        chosen=options[0],
        runners_up=options[1 : 1 + runners_up],
        excluded=excluded,
        options=options,
        pricing=pricing,
        safety_margin=safety_margin,
    )


def _rank(option: PricedOption) -> tuple[float, int, float, str, str, str]:
    # Cost first (to a micro-euro, so float noise is a tie); then the smaller machine wins (no
    # distributed-training risk for the same money), then the faster one.
    o = option.offer
    return (
        round(option.cost_eur, 6),
        o.gpu_count,
        option.hours,
        o.provider,
        o.instance_type,
        o.region,
    )


def _unfit(
    offer: Offer, specs: Mapping[str, GpuSpec], workload: Workload, margin: float
) -> tuple[str, ExclusionKind]:
    spec = specs.get(offer.gpu_model)
    if spec is None:
        return f"GPU {offer.gpu_model} is not in the GPU spec table", "spec"
    if spec.bf16_tflops is None or spec.bandwidth_tb_s is None:
        missing = "bf16 TFLOP/s" if spec.bf16_tflops is None else "memory bandwidth"
        return f"the GPU spec table has no {missing} for {spec.name}", "spec"
    per_gpu_gib = workload.memory.per_gpu_bytes(offer.gpu_count) / GIB
    need_gib = per_gpu_gib * (1 + margin)
    if need_gib > offer.gpu_memory_gib:
        spread = "" if offer.gpu_count == 1 else f" spread over {offer.gpu_count} GPUs"
        return (
            f"needs {need_gib:.1f} GiB per GPU{spread} ({per_gpu_gib:.1f} + {margin:.0%} margin), "
            f"{offer.gpu_model} has {offer.gpu_memory_gib:g} GiB",
            "memory",
        )
    return "", "memory"


OfferKey = tuple[str, str, str]
Filter = tuple[Callable[[Offer], bool], str]


def _filters(
    catalog: Catalog,
    specs: Mapping[str, GpuSpec],
    providers: Sequence[str] | None,
    regions: Sequence[str] | None,
    gpus: Sequence[str] | None,
    instance_types: Sequence[str] | None,
) -> list[Filter]:
    """(keep, reason) pairs; names are validated here so typos fail with suggestions."""

    def allowing(offers: list[Offer], reason: str) -> Filter:
        allowed = {_key(o) for o in offers}
        return (lambda o: _key(o) in allowed), reason

    filters: list[Filter] = []
    if providers:
        selected = catalog.select(providers=providers)
        filters.append(allowing(selected, f"provider not in {', '.join(providers)}"))
    if regions:
        selected = catalog.select(regions=regions)
        filters.append(allowing(selected, f"region not in {', '.join(regions)}"))
    if gpus:
        selected = catalog.select(gpus=gpus, known_gpus=specs)
        filters.append(allowing(selected, f"GPU not {' or '.join(gpus)}"))
    if instance_types:
        names = catalog.instance_types
        wanted = {resolve_name(i, names, UnknownInstanceError) for i in instance_types}
        reason = f"instance type not {' or '.join(sorted(wanted))}"
        filters.append(((lambda o: o.instance_type in wanted), reason))
    return filters


def _key(offer: Offer) -> OfferKey:
    return (offer.provider, offer.instance_type, offer.region)


def _nothing_fits(workload: Workload, excluded: list[Exclusion], margin: float) -> str:
    counts: dict[str, int] = {}
    for e in excluded:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    labels = {
        "filter": "by your filters",
        "spec": "for missing GPU specs",
        "memory": "by memory",
        "price": "for unknown prices",
    }
    summary = ", ".join(
        f"{n} {labels[k]}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    need = workload.memory.total_gib
    largest = max(
        (e.offer for e in excluded if e.kind == "memory"),
        key=lambda o: o.total_gpu_memory_gib,
        default=None,
    )
    hint = ""
    if largest is not None:
        size = f"{largest.gpu_count}×{largest.gpu_memory_gib:g} GiB"
        hint = f" The largest candidate, {largest.label}, has {size}."
    return (
        f"An instance must fit the workload ({workload.describe()}, {need:.1f} GiB + {margin:.0%} "
        f"margin), but none does: {summary or 'the catalog is empty'}.{hint}"
    )
