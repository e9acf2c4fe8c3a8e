"""What a study's configurations would cost on other hardware or prices, from what was recorded.

Nothing is re-run. Each trial recorded the FLOPs of its full-scale fine-tune and the serving
instance it was priced on (``projection``); repricing divides those FLOPs by the new GPU's dense
bf16 peak × MFU, spreads the GPU-hours over the instance's GPUs and multiplies by the new € per
instance-hour, and re-rates serving at the new € per hour of the same instance (same replicas) --
or, moved to another serving instance, takes that instance's serving projection from the cost
model for the trial's weight dtype (memory fit, bandwidth-bound decode rate, replicas).
A configuration whose recorded training memory does not fit the new GPU is marked infeasible.

A uniform move (every trial to the same GPU) scales every training bill by the same factor, so
the ranking by training € alone never changes; what changes is the mix with serving, the memory
fit, and any trial that was on a different target instance than the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sweeper.metrics import (
    COST_EUR_PER_MTOK_SERVING,
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    GPU_HOURS_TRAIN_PROJECTED,
    SERVING_MEMORY_GIB,
    SERVING_REPLICAS,
    SERVING_TOKENS_PER_SECOND,
    TRAIN_FLOPS_PROJECTED,
    TRAIN_MEMORY_GIB_PROJECTED,
)
from sweeper.report._recommend import cost_eur_horizon
from sweeper.report._records import TrialRecord

DOES_NOT_FIT = "training memory fits the target GPU"
DOES_NOT_SERVE = "the served model fits the serving instance"


@dataclass(frozen=True)
class TrainingTarget:
    """A catalog row full-scale training is repriced on (money in euros)."""

    instance: str  # provider/instance_type
    gpu: str
    gpu_peak_flops_per_second: float
    gpu_count: int
    gpu_memory_gib: float
    pricing: str
    eur_per_hour: float
    mfu: float
    price_date: str = ""
    source: str = ""


@dataclass(frozen=True)
class Repriced:
    """One trial before and after, with the arithmetic that explains the change."""

    before: TrialRecord
    after: TrialRecord
    why: str

    @property
    def number(self) -> int:
        return self.before.number


def reprice_training(record: TrialRecord, target: TrainingTarget) -> tuple[dict, dict, str]:
    """(metric updates, new training projection, explanation) for ``record`` on ``target``."""
    old = dict(record.projection.get("training") or {})
    # The metric includes the LoRA partners a merging recipe trains (same target, same method);
    # the projection holds the trial's own LoRA only.
    flops = float(record.metrics.get(TRAIN_FLOPS_PROJECTED, old[TRAIN_FLOPS_PROJECTED]))
    old_gpu_hours = float(record.metrics.get(GPU_HOURS_TRAIN_PROJECTED, 0.0))
    was_eur = float(record.metrics.get(COST_EUR_TRAIN_PROJECTED, 0.0))
    gpu_hours = flops / (target.gpu_peak_flops_per_second * target.mfu) / 3600.0
    instance_hours = gpu_hours / max(target.gpu_count, 1)
    cost = instance_hours * target.eur_per_hour
    new = old | {
        GPU_HOURS_TRAIN_PROJECTED: gpu_hours,
        "instance_hours_train_projected": instance_hours,
        COST_EUR_TRAIN_PROJECTED: cost,
        "target_instance": target.instance,
        "target_gpu": target.gpu,
        "target_gpu_count": target.gpu_count,
        "target_pricing": target.pricing,
        "target_eur_per_hour": target.eur_per_hour,
        "mfu": target.mfu,
    }
    why = (
        f"{flops:.3g} FLOP / ({target.gpu_peak_flops_per_second / 1e12:g} TFLOP/s × MFU "
        f"{target.mfu:g}) = {gpu_hours:.3g} GPU-h on {target.gpu_count}× {target.gpu} → "
        f"{instance_hours:.3g} h × €{target.eur_per_hour:.3f}/h {target.pricing} = €{cost:,.2f} "
        f"(was {old_gpu_hours:.3g} GPU-h × "
        f"€{float(old.get('target_eur_per_hour', 0)):.3f}/h {old.get('target_pricing', '?')} on "
        f"{old.get('target_instance', '?')} = €{was_eur:,.2f})"
    )
    updates = {GPU_HOURS_TRAIN_PROJECTED: gpu_hours, COST_EUR_TRAIN_PROJECTED: cost}
    return updates, new, why


#: The serving projection fields that are also per-trial metrics.
SERVING_METRICS = (
    COST_EUR_SERVING_MONTH,
    COST_EUR_PER_MTOK_SERVING,
    SERVING_MEMORY_GIB,
    SERVING_TOKENS_PER_SECOND,
    SERVING_REPLICAS,
)


def move_serving(
    record: TrialRecord, new: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, Any], str, bool]:
    """(metric updates, new serving projection, why, fits) of serving ``record``'s model as
    ``new`` projects it. A model that does not fit the named instance keeps its recorded serving
    figures and is marked infeasible: there is no bill for hardware that cannot serve it."""
    old = record.projection.get("serving") or {}
    was = (
        f"{old.get('serving_instance')} {old.get('serving_pricing', '?')} "
        f"({int(old.get(SERVING_REPLICAS, 0) or 0)} replica(s))"
    )
    if not new.get("fits_serving_instance", True):
        return (
            {},
            dict(old),
            f"does not fit {new.get('requested_instance', '?')}: needs "
            f"{float(new[SERVING_MEMORY_GIB]):.1f} GiB at {new['weight_dtype']}",
            False,
        )
    updates = {k: float(new[k]) for k in SERVING_METRICS if k in new}
    month_was = float(record.metrics[COST_EUR_SERVING_MONTH])
    rate = float(new[SERVING_TOKENS_PER_SECOND])
    why = (
        f"{was} → {new['serving_instance']} {new['serving_pricing']} "
        f"({int(new[SERVING_REPLICAS])} replica(s) at {rate:,.0f} tokens/s, "
        f"€{float(new['serving_eur_per_hour']):.3f}/h): €{month_was:,.0f} → "
        f"€{float(new[COST_EUR_SERVING_MONTH]):,.0f} per month"
    )
    return updates, dict(new), why, True


def reprice(
    records: Sequence[TrialRecord],
    *,
    training: Mapping[str, TrainingTarget] | None = None,
    serving_eur_per_hour: Mapping[str, tuple[float, str]] | None = None,
    serving_moves: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Repriced]:
    """Reprice every record that has a projection.

    ``training`` maps a recorded target instance (``provider/instance_type``) to the row it moves
    to; ``serving_eur_per_hour`` maps a recorded serving instance to (new € per hour, pricing);
    ``serving_moves`` maps a recorded serving weight dtype to the serving projection on another
    instance (``sweeper.costing.ProjectedServing.as_dict()``: its own memory need, decode rate and
    replicas), taking precedence over ``serving_eur_per_hour``. Records without a projection
    (e.g. a trial that failed before pricing) are kept as they were.
    """
    out = []
    for r in records:
        updates: dict[str, float] = {}
        projection = dict(r.projection)
        whys: list[str] = []
        constraints, names = r.constraints, r.constraint_names
        old_train = projection.get("training") or {}
        target = (training or {}).get(str(old_train.get("target_instance")))
        if target is not None and TRAIN_FLOPS_PROJECTED in old_train:
            u, projection["training"], why = reprice_training(r, target)
            updates |= u
            whys.append(f"training: {why}")
            need = r.metrics.get(TRAIN_MEMORY_GIB_PROJECTED)
            if need is not None:
                # Recorded need (10% margin included) vs the new GPU; > 0 violates (Optuna's rule).
                constraints = (*constraints, float(need) - target.gpu_memory_gib)
                names = (*names, DOES_NOT_FIT) if names else names
                if need > target.gpu_memory_gib:
                    whys.append(
                        f"does not fit: needs {need:.1f} GiB per GPU, {target.gpu} has "
                        f"{target.gpu_memory_gib:g} GiB"
                    )
        old_serve = projection.get("serving") or {}
        rate = (serving_eur_per_hour or {}).get(str(old_serve.get("serving_instance")))
        move = (serving_moves or {}).get(str(old_serve.get("weight_dtype")))
        if move is not None and COST_EUR_SERVING_MONTH in r.metrics:
            u, projection["serving"], why, fits = move_serving(r, move)
            updates |= u
            whys.append(f"serving: {why}")
            # Violated (> 0) when the model does not fit the named instance; Optuna's rule.
            constraints = (*constraints, 0.0 if fits else 1.0)
            names = (*names, DOES_NOT_SERVE) if names else names
        elif rate is not None and COST_EUR_SERVING_MONTH in r.metrics:
            eur_h, pricing = rate
            old_rate = float(old_serve.get("serving_eur_per_hour") or 0.0)
            factor = eur_h / old_rate if old_rate > 0 else 1.0
            month = float(r.metrics[COST_EUR_SERVING_MONTH]) * factor
            updates[COST_EUR_SERVING_MONTH] = month
            if COST_EUR_PER_MTOK_SERVING in r.metrics:
                updates[COST_EUR_PER_MTOK_SERVING] = r.metrics[COST_EUR_PER_MTOK_SERVING] * factor
            projection["serving"] = old_serve | {
                "serving_eur_per_hour": eur_h,
                "serving_pricing": pricing,
                COST_EUR_SERVING_MONTH: month,
            }
            whys.append(
                f"serving: {old_serve.get('serving_instance')} €{old_rate:.3f}/h "
                f"{old_serve.get('serving_pricing', '?')} → €{eur_h:.3f}/h {pricing}: "
                f"€{r.metrics[COST_EUR_SERVING_MONTH]:,.0f} → €{month:,.0f} per month"
            )
        after = replace(
            r.with_metrics(updates, projection), constraints=constraints, constraint_names=names
        )
        out.append(Repriced(r, after, "; ".join(whys) or "no recorded projection: unchanged"))
    return out


def horizon_ranking(records: Sequence[TrialRecord], months: float) -> dict[int, int]:
    """1-based rank of each feasible complete trial by cost over the horizon (training once plus
    ``months`` of serving), cheapest first; ties by trial number."""
    rows = [
        r for r in records if r.complete and r.feasible and COST_EUR_TRAIN_PROJECTED in r.metrics
    ]
    ordered = sorted(rows, key=lambda r: (cost_eur_horizon(r, months), r.number))
    return {r.number: i + 1 for i, r in enumerate(ordered)}
