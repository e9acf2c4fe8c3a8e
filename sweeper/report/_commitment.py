"""Reserved vs on-demand vs spot for the recommended configuration's expected usage.

With a serving projection, the usage is the serving replicas, each busy around the clock
(``HOURS_PER_MONTH``, 730 h a month), not interruptible. Without one, it is ``retrains_per_month``
full-scale fine-tunes a month on the training target, which checkpoints and may run on spot. The
spot rule (``cost_models.commitment_prices``) and the comparison itself (break-even utilization,
obsolescence as falling market prices, ``cost_models.compare_commitments``) are the cost model's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cost_models import (
    DEFAULT_PRICE_DECLINE_PER_YEAR,
    HOURS_PER_MONTH,
    CommitmentComparison,
    commitment_prices,
    compare_commitments,
)
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
    if offer.price_per_hour("on_demand") is None:
        return None
    prices = commitment_prices(offer, fx)  # the spot rule applies here as in `sweeper commit`
    comparison = compare_commitments(
        prices.on_demand_eur_per_hour,
        hours_per_month=hours,
        months=months,
        eur_per_hour_spot=prices.spot_eur_per_hour,
        interruptible=interruptible,
        eur_per_hour_reserved_1y=prices.reserved_1y_eur_per_hour,
        eur_per_hour_reserved_3y=prices.reserved_3y_eur_per_hour,
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
