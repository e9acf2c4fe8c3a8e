"""Everything the review and the report say about a study, computed once from its records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    COST_EUR_TRIAL,
    COST_METRICS,
    SPENT_EUR_TOTAL,
)
from sweeper.report._pareto import (
    HypervolumePoint,
    ReferenceBox,
    hypervolume,
    hypervolume_history,
    knee,
    pareto_front,
    pareto_ranks,
    rankable,
    reference_box,
)
from sweeper.report._recommend import (
    DEFAULT_HORIZON_MONTHS,
    DEFAULT_TOLERANCE_POINTS,
    Recommendation,
    best_under_cap,
    cheapest_within_tolerance,
    cost_eur_horizon,
    default_cap_eur,
)
from sweeper.report._records import Objective, TrialRecord

#: Parent-run metric prefix of each recommendation.
METRIC_PREFIX = {
    "cheapest_within_tolerance": "cheapest_within_tol",
    "knee": "knee",
    "best_under_cap": "best_under_cap",
}


@dataclass(frozen=True)
class ReviewOptions:
    """How recommendations are chosen. ``tolerance_points``: quality points (1 point = 0.01 on
    a 0–1 score); ``cap_eur``: horizon-cost cap, ``None`` for the candidates' median."""

    tolerance_points: float = DEFAULT_TOLERANCE_POINTS
    cap_eur: float | None = None
    horizon_months: float = DEFAULT_HORIZON_MONTHS


@dataclass(frozen=True)
class ParetoAnalysis:
    objectives: tuple[Objective, ...]
    quality: str
    records: tuple[TrialRecord, ...]
    ranks: dict[int, int]
    front: tuple[TrialRecord, ...]
    box: ReferenceBox | None
    hypervolume: float
    history: tuple[HypervolumePoint, ...]
    recommendations: dict[str, Recommendation]
    options: ReviewOptions
    cap_eur: float | None
    spent_eur_baseline: float
    states: dict[str, int] = field(default_factory=dict)

    @property
    def feasible(self) -> list[TrialRecord]:
        return [r for r in rankable(self.records, self.objectives) if r.feasible]

    @property
    def best_quality(self) -> float | None:
        values = [r.metrics[self.quality] for r in self.feasible if self.quality in r.metrics]
        return max(values) if values else None

    @property
    def spent_eur_total(self) -> float:
        trials = sum(float(r.metrics.get(COST_EUR_TRIAL, 0.0)) for r in self.records)
        return trials + self.spent_eur_baseline

    @property
    def recommended(self) -> Recommendation | None:
        """The headline recommendation: the cheapest configuration near the best quality."""
        return self.recommendations.get("cheapest_within_tolerance")

    def horizon_cost(self, record: TrialRecord) -> float:
        return cost_eur_horizon(record, self.options.horizon_months)

    def spent_by_state(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.records:
            out[r.state] = out.get(r.state, 0.0) + float(r.metrics.get(COST_EUR_TRIAL, 0.0))
        return out

    def parent_metrics(self) -> dict[str, float]:
        """The parent run's review metrics (MLflow keys); the report shows the same numbers."""
        out: dict[str, float] = {f"trials_{k.lower()}": float(v) for k, v in self.states.items()}
        out[SPENT_EUR_TOTAL] = self.spent_eur_total
        out["hypervolume"] = self.hypervolume
        out["pareto_size"] = float(len(self.front))
        out["quality_tolerance_points"] = float(self.options.tolerance_points)
        out["horizon_months"] = float(self.options.horizon_months)
        if self.cap_eur is not None:
            out["cap_eur"] = self.cap_eur
        if self.best_quality is not None:
            out[f"best_{self.quality}"] = self.best_quality
        for kind, rec in self.recommendations.items():
            prefix = METRIC_PREFIX[kind]
            out[f"{prefix}_trial"] = float(rec.record.number)
            out[f"{prefix}_{self.quality}"] = rec.record.metrics[self.quality]
            out[f"{prefix}_cost_eur_horizon"] = self.horizon_cost(rec.record)
            for key in (COST_EUR_TRAIN_PROJECTED, COST_EUR_SERVING_MONTH):
                if key in rec.record.metrics:
                    out[f"{prefix}_{key}"] = rec.record.metrics[key]
        return out


def quality_objective(objectives: Sequence[Objective]) -> str:
    """The quality metric recommendations maximise: the first maximised objective that is not a
    cost metric (else the first objective)."""
    for o in objectives:
        if o.direction == "maximize" and o.name not in COST_METRICS:
            return o.name
    return objectives[0].name


def analyze(
    records: Sequence[TrialRecord],
    objectives: Sequence[Objective],
    options: ReviewOptions | None = None,
    *,
    spent_eur_baseline: float = 0.0,
) -> ParetoAnalysis:
    """Front, ranks, hypervolume (history against € spent) and the three recommendations."""
    options = options or ReviewOptions()
    objectives = tuple(objectives)
    quality = quality_objective(objectives)
    ranks = pareto_ranks(records, objectives)
    front = pareto_front(records, objectives, ranks)
    box = reference_box(records, objectives)
    candidates = [r for r in rankable(records, objectives) if r.feasible]
    months = options.horizon_months
    cap = options.cap_eur if options.cap_eur is not None else default_cap_eur(candidates, months)
    tolerance = options.tolerance_points / 100.0
    recs: dict[str, Recommendation] = {}
    cheapest = cheapest_within_tolerance(candidates, quality, tolerance, months)
    if cheapest is not None:
        recs["cheapest_within_tolerance"] = Recommendation(
            "cheapest_within_tolerance",
            f"Cheapest within {options.tolerance_points:g} points of the best {quality}",
            cheapest,
            f"lowest cost over {months:g} months among configurations whose {quality} is at "
            f"most {options.tolerance_points:g} points below the best",
        )
    knee_record = knee(front, objectives)
    if knee_record is not None:
        recs["knee"] = Recommendation(
            "knee",
            "Knee of the Pareto front",
            knee_record,
            "the front member closest to the ideal point with every objective scaled 0-1 "
            "over the front: the most balanced trade-off",
        )
    if cap is not None:
        capped = best_under_cap(candidates, quality, cap, months)
        if capped is not None:
            recs["best_under_cap"] = Recommendation(
                "best_under_cap",
                f"Best {quality} for at most €{cap:,.2f} over {months:g} months",
                capped,
                f"highest {quality} among configurations costing at most €{cap:,.2f} over "
                f"{months:g} months"
                + (" (cap: the median configuration's cost)" if options.cap_eur is None else ""),
            )
    return ParetoAnalysis(
        objectives=objectives,
        quality=quality,
        records=tuple(records),
        ranks=ranks,
        front=tuple(front),
        box=box,
        hypervolume=hypervolume(records, objectives, box),
        history=tuple(
            hypervolume_history(records, objectives, box, spent_eur_before=spent_eur_baseline)
        ),
        recommendations=recs,
        options=options,
        cap_eur=cap,
        spent_eur_baseline=spent_eur_baseline,
        states=dict(Counter(r.state for r in records)),
    )
