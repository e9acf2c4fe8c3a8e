"""The Pareto review as pure functions over trial records (synthetic studies, no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweeper.report import (
    Objective,
    ReviewOptions,
    analyze,
    analyze_study,
    cost_eur_horizon,
    pareto_ranks,
    records_from_trials,
)
from sweeper.report._records import TrialRecord
from tests.sweeper.report.synthetic import synthetic_study


@pytest.fixture(scope="module")
def study():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return synthetic_study(120, seed=3)


def test_rank_zero_is_optunas_best_trials_with_constraints(study) -> None:
    a = analyze_study(study)
    best = sorted(t.number for t in study.best_trials)
    assert [r.number for r in a.front] == best
    assert sorted(n for n, k in a.ranks.items() if k == 0) == best
    infeasible = [r for r in a.records if r.complete and not r.feasible]
    assert infeasible, "the synthetic study has infeasible trials"
    assert all(a.ranks[r.number] >= 1 for r in infeasible)
    # Only complete trials are ranked.
    assert set(a.ranks) == {r.number for r in a.records if r.complete}


def test_ranks_are_non_domination_layers() -> None:
    objs = [Objective("quality", "maximize"), Objective("cost_eur_train_projected", "minimize")]

    def rec(n, q, c, violated=False):
        return TrialRecord(
            n,
            "COMPLETE",
            metrics={"quality": q, "cost_eur_train_projected": c},
            constraints=(1.0 if violated else -1.0,),
        )

    records = [rec(0, 0.9, 5), rec(1, 0.8, 2), rec(2, 0.7, 6), rec(3, 0.95, 1, violated=True)]
    assert pareto_ranks(records, objs) == {0: 0, 1: 0, 2: 1, 3: 2}
    only_infeasible = [rec(0, 0.9, 5, violated=True)]
    assert pareto_ranks(only_infeasible, objs) == {0: 1}


def test_hypervolume_history_grows_with_spend_to_the_final_value(study) -> None:
    a = analyze_study(study)
    assert 0 < a.hypervolume <= 1
    hv = [p.hypervolume for p in a.history]
    spent = [p.spent_eur for p in a.history]
    assert hv == sorted(hv) and spent == sorted(spent)
    assert math.isclose(hv[-1], a.hypervolume, rel_tol=1e-9)
    assert math.isclose(spent[-1], a.spent_eur_total, rel_tol=1e-9)
    # The reference point is the worst feasible value pushed 10% of the range further.
    feasible = a.feasible
    q = [r.metrics["quality"] for r in feasible]
    ref = a.box.in_units(a.objectives)
    assert math.isclose(ref["quality"], min(q) - 0.1 * (max(q) - min(q)), rel_tol=1e-9)


def test_recommendations_follow_their_rules(study) -> None:
    a = analyze_study(study, ReviewOptions(tolerance_points=3, horizon_months=6))
    feasible = a.feasible
    best = max(r.metrics["quality"] for r in feasible)
    assert a.best_quality == best
    cheap = a.recommendations["cheapest_within_tolerance"].record
    near = [r for r in feasible if r.metrics["quality"] >= best - 0.03]
    assert cheap.metrics["quality"] >= best - 0.03
    assert cost_eur_horizon(cheap, 6) == min(cost_eur_horizon(r, 6) for r in near)
    assert a.recommendations["knee"].record.number in {r.number for r in a.front}
    capped = a.recommendations["best_under_cap"].record
    assert a.cap_eur == pytest.approx(float(np.median([cost_eur_horizon(r, 6) for r in feasible])))
    assert cost_eur_horizon(capped, 6) <= a.cap_eur
    under = [r for r in feasible if cost_eur_horizon(r, 6) <= a.cap_eur]
    assert capped.metrics["quality"] == max(r.metrics["quality"] for r in under)
    metrics = a.parent_metrics()
    assert metrics["cheapest_within_tol_trial"] == cheap.number
    assert metrics["best_quality"] == best
    assert metrics["trials_complete"] + metrics.get("trials_fail", 0) + metrics.get(
        "trials_pruned", 0
    ) == len(study.trials)


def test_records_keep_what_trials_recorded(study) -> None:
    objs = [Objective("quality", "maximize")]
    records = records_from_trials(study.trials, objs)
    t = next(t for t in study.trials if t.state.name == "COMPLETE")
    r = records[t.number]
    assert r.metrics["quality"] == t.values[0]
    assert r.projection["training"]["target_instance"] == "azure/Standard_NC24ads_A100_v4"
    assert r.constraints == tuple(t.system_attrs["constraints"])
    failed = next(r for r in records if r.state == "FAIL")
    assert failed.fail_reason and not failed.complete
    assert analyze(records, objs).front  # one objective works too
