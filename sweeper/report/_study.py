"""From an Optuna study to records and an analysis (the storage edge of the report)."""

from __future__ import annotations

from typing import Any

from sweeper.metrics import COST_EUR_TRIAL
from sweeper.report._analysis import ParetoAnalysis, ReviewOptions, analyze
from sweeper.report._pareto import pareto_ranks
from sweeper.report._records import Objective, TrialRecord, records_from_trials
from sweeper.trial_record import STUDY_ATTR_BASELINE


def study_objectives(study: Any) -> list[Objective]:
    """The study's objectives, named as the sweeper named them (``study.metric_names``)."""
    names = study.metric_names or [f"objective_{i}" for i in range(len(study.directions))]
    return [
        Objective(n, "maximize" if d.name == "MAXIMIZE" else "minimize")
        for n, d in zip(names, study.directions, strict=True)
    ]


def study_records(study: Any) -> list[TrialRecord]:
    return records_from_trials(study.get_trials(deepcopy=False), study_objectives(study))


def baseline_cost_eur(study: Any) -> float:
    """What the once-per-study base-model evaluation cost (0 when it was skipped)."""
    return float((study.user_attrs.get(STUDY_ATTR_BASELINE) or {}).get(COST_EUR_TRIAL, 0.0))


def analyze_study(
    study: Any, options: ReviewOptions | None = None, records: list[TrialRecord] | None = None
) -> ParetoAnalysis:
    """The review of ``study`` (or of ``records``, e.g. repriced ones, with its objectives)."""
    return analyze(
        study_records(study) if records is None else records,
        study_objectives(study),
        options,
        spent_eur_baseline=baseline_cost_eur(study),
    )


def study_pareto_ranks(study: Any) -> dict[int, int]:
    """Non-domination rank of each complete trial (0 = Optuna's ``best_trials``)."""
    return pareto_ranks(study_records(study), study_objectives(study))
