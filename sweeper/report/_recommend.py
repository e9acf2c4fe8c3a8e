"""Which configuration to take: the knee, the cheapest near the best quality, the best under a cap.

Cost here is the configuration's cost over a horizon: full-scale training once plus serving for
``horizon_months`` months (``cost_eur_train_projected + months × cost_eur_serving_month``; just
training when the study has no serving section). Only feasible complete trials are candidates.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sweeper.metrics import COST_EUR_SERVING_MONTH, COST_EUR_TRAIN_PROJECTED
from sweeper.report._records import TrialRecord

RecommendationKind = Literal["cheapest_within_tolerance", "knee", "best_under_cap"]
DEFAULT_TOLERANCE_POINTS = 2.0
DEFAULT_HORIZON_MONTHS = 12


def cost_eur_horizon(record: TrialRecord, months: float) -> float:
    """Training once at full scale plus ``months`` of serving, in euros."""
    train = record.metrics.get(COST_EUR_TRAIN_PROJECTED, 0.0)
    serving = record.metrics.get(COST_EUR_SERVING_MONTH, 0.0)
    return float(train) + months * float(serving)


@dataclass(frozen=True)
class Recommendation:
    kind: RecommendationKind
    title: str
    record: TrialRecord
    why: str


def cheapest_within_tolerance(
    candidates: Sequence[TrialRecord], quality: str, tolerance: float, months: float
) -> TrialRecord | None:
    """The lowest horizon cost among trials within ``tolerance`` (0–1 scale) of the best quality;
    ties go to the higher quality, then the lower trial number."""
    if not candidates:
        return None
    best = max(c.metrics[quality] for c in candidates)
    near = [c for c in candidates if c.metrics[quality] >= best - tolerance - 1e-12]
    return min(near, key=lambda c: (cost_eur_horizon(c, months), -c.metrics[quality], c.number))


def best_under_cap(
    candidates: Sequence[TrialRecord], quality: str, cap_eur: float, months: float
) -> TrialRecord | None:
    """The highest quality among trials whose horizon cost is at most ``cap_eur``."""
    under = [c for c in candidates if cost_eur_horizon(c, months) <= cap_eur + 1e-12]
    if not under:
        return None
    return min(under, key=lambda c: (-c.metrics[quality], cost_eur_horizon(c, months), c.number))


def default_cap_eur(candidates: Sequence[TrialRecord], months: float) -> float | None:
    """The median horizon cost of the candidates: what a middle-of-the-road configuration costs."""
    costs = [cost_eur_horizon(c, months) for c in candidates]
    return float(statistics.median(costs)) if costs else None
