"""What ``sweeper show`` prints: a study's trials, their measurements and the Pareto-optimal set."""

from __future__ import annotations

from typing import Any

import optuna

from sweeper.budget import BudgetLedger, BudgetNotSetError
from sweeper.metrics import SPENT_EUR_TOTAL
from sweeper.mlflow_view import stored_view_link
from sweeper.storage import load_existing_study
from sweeper.study import LoadedStudy
from sweeper.trial_record import (
    ATTR_CACHE,
    ATTR_CONSTRAINTS,
    ATTR_FAIL_REASON,
    ATTR_METRICS,
    ATTR_PROJECTION,
    STUDY_ATTR_BASELINE,
    spent_eur,
    trial_states,
)


def summarize(loaded: LoadedStudy, storage_url: str) -> dict[str, Any]:
    study = load_existing_study(loaded.name, storage_url)
    everything = study.get_trials(deepcopy=False)
    complete = [t for t in everything if t.state == optuna.trial.TrialState.COMPLETE]
    pareto = {t.number for t in study.best_trials} if complete else set()
    trials = []
    for t in everything:
        trials.append(
            {
                "number": t.number,
                "state": t.state.name,
                "pareto": t.number in pareto,
                "params": dict(t.params),
                "metrics": dict(t.user_attrs.get(ATTR_METRICS, {})),
                "fail_reason": t.user_attrs.get(ATTR_FAIL_REASON),
                "cache_hits": sorted(
                    k for k, hit in t.user_attrs.get(ATTR_CACHE, {}).items() if hit
                ),
                "feasible": (
                    all(v <= 0 for v in t.user_attrs[ATTR_CONSTRAINTS].values())
                    if t.user_attrs.get(ATTR_CONSTRAINTS)
                    else None
                ),
                "serving_instance": (t.user_attrs.get(ATTR_PROJECTION) or {})
                .get("serving", {})
                .get("serving_instance"),
            }
        )
    baseline = (study.user_attrs.get(STUDY_ATTR_BASELINE) or {}).get("metrics", {})
    view = stored_view_link(study)
    return {
        "study": loaded.name,
        "mlflow_view": None if view is None else view.lines(),
        "objectives": dict(zip(loaded.objective_names, loaded.directions, strict=True)),
        "states": trial_states(study),
        SPENT_EUR_TOTAL: spent_eur(study),
        "baseline": {
            k: v
            for k, v in baseline.items()
            if k in loaded.spec.eval.tasks or k.endswith("_stderr")
        },
        "budget": ledger_summary(loaded.name, storage_url),
        "pareto_trials": sorted(pareto),
        "trials": trials,
    }


def ledger_summary(study_name: str, storage_url: str) -> dict[str, Any] | None:
    """The study's budget ledger (EUR): budget, settled spend, reservations of running trials and
    what remains; ``None`` when the study never had a budget."""
    with BudgetLedger(storage_url, study_name) as ledger:
        try:
            summary = ledger.summary()
        except BudgetNotSetError:
            return None
    return {
        "budget_eur": summary.budget_eur,
        "spent_eur": summary.spent_eur,
        "reserved_eur": summary.reserved_eur,
        "remaining_eur": summary.remaining_eur,
        "entries_by_state": dict(summary.entries_by_state),
    }
