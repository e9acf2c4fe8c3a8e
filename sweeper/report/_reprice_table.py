"""What ``sweeper reprice`` reports: each configuration's costs and horizon rank before and after
a repricing, cheapest over the horizon first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    GPU_HOURS_TRAIN_PROJECTED,
)
from sweeper.report._recommend import cost_eur_horizon
from sweeper.report._reprice import Repriced, horizon_ranking


@dataclass(frozen=True)
class RepriceRow:
    """One configuration before and after (money in euros; None where nothing was recorded)."""

    trial: int
    rank_before: int | None
    rank_after: int | None
    params: Any
    quality: dict[str, float]
    cost_eur_train_projected_before: float | None
    cost_eur_train_projected_after: float | None
    gpu_hours_train_projected_before: float | None
    gpu_hours_train_projected_after: float | None
    cost_eur_serving_month_before: float | None
    cost_eur_serving_month_after: float | None
    cost_eur_horizon_before: float | None
    cost_eur_horizon_after: float | None
    feasible_after: bool
    why: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RepriceTable:
    """The repriced study: rows ranked by cost over ``horizon_months`` after the repricing."""

    study: str
    repriced: str
    horizon_months: float
    rows: tuple[RepriceRow, ...]

    @property
    def ranking_changed(self) -> list[int]:
        """Trials whose horizon rank moved."""
        return [r.trial for r in self.rows if r.rank_before != r.rank_after]

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "repriced": self.repriced,
            "horizon_months": self.horizon_months,
            "ranking_changed": self.ranking_changed,
            "trials": [r.to_dict() for r in self.rows],
        }


def reprice_table(
    study: str,
    description: str,
    repriced: Sequence[Repriced],
    horizon_months: float,
    quality_tasks: Iterable[str],
) -> RepriceTable:
    """Rank ``repriced`` before and after by cost over the horizon; ``quality_tasks`` name the
    quality metrics shown (with their ``_stderr``). Trials ranked neither before nor after (not
    complete, or infeasible both times) are left out."""
    tasks = set(quality_tasks)
    before = horizon_ranking([p.before for p in repriced], horizon_months)
    after = horizon_ranking([p.after for p in repriced], horizon_months)
    rows = []
    for p in sorted(repriced, key=lambda p: (after.get(p.number, 10**9), p.number)):
        if p.number not in before and p.number not in after:
            continue
        rows.append(
            RepriceRow(
                trial=p.number,
                rank_before=before.get(p.number),
                rank_after=after.get(p.number),
                params=p.before.params,
                quality={
                    k: v for k, v in p.before.metrics.items() if k in tasks or k.endswith("_stderr")
                },
                cost_eur_train_projected_before=p.before.metrics.get(COST_EUR_TRAIN_PROJECTED),
                cost_eur_train_projected_after=p.after.metrics.get(COST_EUR_TRAIN_PROJECTED),
                gpu_hours_train_projected_before=p.before.metrics.get(GPU_HOURS_TRAIN_PROJECTED),
                gpu_hours_train_projected_after=p.after.metrics.get(GPU_HOURS_TRAIN_PROJECTED),
                cost_eur_serving_month_before=p.before.metrics.get(COST_EUR_SERVING_MONTH),
                cost_eur_serving_month_after=p.after.metrics.get(COST_EUR_SERVING_MONTH),
                cost_eur_horizon_before=cost_eur_horizon(p.before, horizon_months),
                cost_eur_horizon_after=cost_eur_horizon(p.after, horizon_months),
                feasible_after=p.after.feasible,
                why=p.why,
            )
        )
    return RepriceTable(study, description, horizon_months, tuple(rows))
