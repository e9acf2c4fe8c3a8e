"""Reserved vs on-demand vs spot for the recommended configuration's expected usage.

With a serving projection, the usage is the serving replicas, each busy around the clock
(730 h a month), not interruptible. Without one, it is ``retrains_per_month`` full-scale
fine-tunes a month on the training target, which checkpoints and may run on spot. The comparison
itself (break-even utilization, obsolescence as falling market prices) is
``cost_models.compare_commitments``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cost_models import DEFAULT_PRICE_DECLINE_PER_YEAR, CommitmentComparison, compare_commitments
from cost_models._commitment import HOURS_PER_MONTH
from sweeper.metrics import SERVING_REPLICAS
from sweeper.report._records import TrialRecord


@dataclass(frozen=True)
class CommitmentAdvice:
    usage: str
    instance: str
    instances: int
    hours_per_month: float
    comparison: CommitmentComparison
    price_date: str
    price_source: str


def commitment_advice(
    record: TrialRecord,
    offer_of: Callable[[str], Any],
    fx: Any,
    *,
    months: int,
    retrains_per_month: float = 1.0,
    price_decline_per_year: float = DEFAULT_PRICE_DECLINE_PER_YEAR,
) -> CommitmentAdvice | None:
    """The commitment comparison for ``record``; ``offer_of`` looks up a catalog offer by its
    ``provider/instance_type`` label. ``None`` when the record has no projection."""
    serving = record.projection.get("serving") or {}
    training = record.projection.get("training") or {}
    if serving.get("serving_instance"):
        label = str(serving["serving_instance"])
        instances = int(serving.get(SERVING_REPLICAS) or 1)
        hours = HOURS_PER_MONTH
        interruptible = False
        usage = (
            f"serving: {instances} replica(s) of {label} around the clock "
            f"({hours:g} h a month each), not interruptible"
        )
    elif training.get("target_instance"):
        label = str(training["target_instance"])
        instances = 1
        hours = float(training.get("instance_hours_train_projected", 0.0)) * retrains_per_month
        interruptible = True
        usage = (
            f"training: {retrains_per_month:g} full-scale fine-tune(s) a month on {label} "
            f"({hours:.3g} instance-hours a month), checkpointed, so spot is allowed"
        )
    else:
        return None
    offer = offer_of(label)
    on_demand = offer.price_per_hour("on_demand")
    if on_demand is None:
        return None
    spot = offer.price_per_hour("spot")
    r1, r3 = offer.price_per_hour("reserved_1y"), offer.price_per_hour("reserved_3y")
    to_eur = fx.to_eur
    eur_spot = None if spot is None else to_eur(spot, offer.currency)
    eur_od = to_eur(on_demand, offer.currency)
    comparison = compare_commitments(
        eur_od,
        hours_per_month=hours,
        months=months,
        eur_per_hour_spot=eur_spot if eur_spot is not None and eur_spot <= eur_od else None,
        interruptible=interruptible,
        eur_per_hour_reserved_1y=None if r1 is None else to_eur(r1, offer.currency),
        eur_per_hour_reserved_3y=None if r3 is None else to_eur(r3, offer.currency),
        price_decline_per_year=price_decline_per_year,
    )
    return CommitmentAdvice(
        usage=usage,
        instance=f"{offer.provider}/{offer.instance_type} ({offer.region})",
        instances=instances,
        hours_per_month=hours,
        comparison=comparison,
        price_date=str(offer.price_date),
        price_source=str(offer.source),
    )
