"""The Pareto front of a study's records: non-domination ranks, hypervolume, and the knee.

Ranks come from Optuna's own non-dominated sort (constrained NSGA-II rules: feasible trials are
ranked among themselves first, infeasible ones after them by their constraint violation), so
rank 0 is exactly Optuna's ``study.best_trials`` with constraints respected.

Hypervolume is reported normalised, as the share of the box between the ideal point (the best
value of each objective among feasible complete trials) and the reference point that the front
dominates: 0 (nothing) … 1 (a single trial best at everything). The reference point is the worst
feasible value of each objective pushed ``REFERENCE_MARGIN`` of its range further (``nadir +
10 %``), so the trials that define the nadir still count; it is fixed once per analysis, so a
history of hypervolume over the sweep is comparable from trial to trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sweeper.metrics import COST_EUR_TRIAL
from sweeper.report._records import Objective, TrialRecord
from sweeper.upstream import compute_hypervolume, fast_non_domination_rank

REFERENCE_MARGIN = 0.10


def rankable(records: Sequence[TrialRecord], objectives: Sequence[Objective]) -> list[TrialRecord]:
    """Complete trials with a value for every objective: the ones a front is made of."""
    return [r for r in records if r.complete and r.has_values(objectives)]


def loss_matrix(records: Sequence[TrialRecord], objectives: Sequence[Objective]) -> np.ndarray:
    """Objective values as losses (maximised objectives negated), one row per record."""
    if not records:
        return np.zeros((0, len(objectives)))
    return np.array(
        [[o.sign * float(r.metrics[o.name]) for o in objectives] for r in records], dtype=float
    )


def pareto_ranks(records: Sequence[TrialRecord], objectives: Sequence[Objective]) -> dict[int, int]:
    """Non-domination rank of each complete trial by trial number (0 = the feasible front).

    An infeasible trial never gets rank 0, also when no trial is feasible.
    """
    rows = rankable(records, objectives)
    if not rows:
        return {}
    penalty = np.array([r.penalty for r in rows], dtype=float)
    ranks = fast_non_domination_rank(loss_matrix(rows, objectives), penalty=penalty)
    if not any(r.feasible for r in rows):
        ranks = ranks + 1
    return {r.number: int(k) for r, k in zip(rows, ranks, strict=True)}


def pareto_front(
    records: Sequence[TrialRecord],
    objectives: Sequence[Objective],
    ranks: dict[int, int] | None = None,
) -> list[TrialRecord]:
    """The feasible non-dominated trials, in trial-number order."""
    ranks = pareto_ranks(records, objectives) if ranks is None else ranks
    return [r for r in rankable(records, objectives) if ranks.get(r.number) == 0 and r.feasible]


@dataclass(frozen=True)
class ReferenceBox:
    """The ideal and reference points (as losses) a normalised hypervolume is measured in."""

    ideal: tuple[float, ...]
    reference: tuple[float, ...]

    def in_units(self, objectives: Sequence[Objective]) -> dict[str, float]:
        """The reference point in the objectives' own units and directions."""
        return {o.name: o.sign * v for o, v in zip(objectives, self.reference, strict=True)}


def reference_box(
    records: Sequence[TrialRecord], objectives: Sequence[Objective]
) -> ReferenceBox | None:
    """Ideal and reference points of the feasible complete trials (``None`` when there are none)."""
    rows = [r for r in rankable(records, objectives) if r.feasible]
    if not rows:
        return None
    losses = loss_matrix(rows, objectives)
    best, worst = losses.min(axis=0), losses.max(axis=0)
    span = worst - best
    span = np.where(span > 0, span, np.maximum(np.abs(worst), 1.0))
    return ReferenceBox(tuple(best.tolist()), tuple((worst + REFERENCE_MARGIN * span).tolist()))


def hypervolume(
    records: Sequence[TrialRecord], objectives: Sequence[Objective], box: ReferenceBox | None
) -> float:
    """Normalised hypervolume (0–1) of the feasible complete trials (module doc)."""
    if box is None:
        return 0.0
    rows = [r for r in rankable(records, objectives) if r.feasible]
    return _normalised_hv(loss_matrix(rows, objectives), box)


@dataclass(frozen=True)
class HypervolumePoint:
    trial_number: int
    spent_eur: float
    hypervolume: float


def hypervolume_history(
    records: Sequence[TrialRecord],
    objectives: Sequence[Objective],
    box: ReferenceBox | None,
    *,
    spent_eur_before: float = 0.0,
) -> list[HypervolumePoint]:
    """Hypervolume after each trial (by number) against the euros the sweep had spent by then.

    Every trial's ``cost_eur_trial`` counts (failed and pruned ones too); ``spent_eur_before`` is
    what was spent before the first trial (the base-model evaluation). The front is updated
    incrementally, so a 10,000-trial study takes one hypervolume computation per front change.
    """
    points: list[HypervolumePoint] = []
    spent = spent_eur_before
    front = np.zeros((0, len(objectives)))
    hv = 0.0
    for r in sorted(records, key=lambda r: r.number):
        spent += float(r.metrics.get(COST_EUR_TRIAL, 0.0))
        if box is not None and r.complete and r.feasible and r.has_values(objectives):
            loss = loss_matrix([r], objectives)[0]
            dominated = len(front) and bool(np.any(np.all(front <= loss, axis=1)))
            if not dominated:
                keep = ~np.all(loss <= front, axis=1) if len(front) else np.zeros(0, dtype=bool)
                front = np.vstack([front[keep], loss[None, :]])
                hv = _normalised_hv(front, box)
        points.append(HypervolumePoint(r.number, spent, hv))
    return points


def knee(front: Sequence[TrialRecord], objectives: Sequence[Objective]) -> TrialRecord | None:
    """The front's knee: the member closest (Euclidean) to the ideal point once every objective
    is scaled to 0–1 over the front, i.e. the most balanced trade-off. Ties go to the lower
    trial number."""
    if not front:
        return None
    losses = loss_matrix(front, objectives)
    lo, hi = losses.min(axis=0), losses.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    distance = np.sqrt((((losses - lo) / span) ** 2).sum(axis=1))
    return front[int(np.argmin(distance))]


def _normalised_hv(losses: np.ndarray, box: ReferenceBox) -> float:
    ref = np.asarray(box.reference, dtype=float)
    ideal = np.asarray(box.ideal, dtype=float)
    inside = losses[np.all(losses < ref, axis=1)] if len(losses) else losses
    if not len(inside):
        return 0.0
    volume = float(compute_hypervolume(inside, ref))
    return volume / float(np.prod(ref - ideal))
