"""Optuna's private functions behind ``sweeper.upstream``: their signatures and their answers on
known inputs. A failure here means the installed Optuna changed one of them: the message names
the version and the range ``pyproject.toml`` pins."""

from __future__ import annotations

import inspect

import numpy as np
import optuna
import pytest
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from sweeper.upstream import (
    OPTUNA_SUPPORTED,
    compute_hypervolume,
    dominates,
    fast_non_domination_rank,
    record_constraints,
)
from sweeper.upstream import _optuna as adapter

CHANGED = (
    f"Optuna {optuna.__version__} changed a private API that sweeper/upstream/_optuna.py adapts "
    f"(supported: optuna{OPTUNA_SUPPORTED}); update the adapter and the pin in pyproject.toml"
)


@pytest.mark.parametrize(
    ("private", "parameters"),
    [
        ("_compute_hypervolume", ["loss_vals", "reference_point", "assume_pareto"]),
        ("_dominates", ["trial0", "trial1", "directions"]),
        ("_fast_non_domination_rank", ["loss_values", "penalty", "n_below"]),
        ("_process_constraints_after_trial", ["constraints_func", "study", "trial", "state"]),
    ],
)
def test_the_private_signatures_are_the_ones_adapted(private: str, parameters: list[str]) -> None:
    found = list(inspect.signature(getattr(adapter, private)).parameters)
    assert found == parameters, f"{CHANGED}: {private}{tuple(found)}"


def test_hypervolume_of_known_points() -> None:
    points = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # the last one is dominated
    assert compute_hypervolume(points, np.array([2.0, 2.0])) == pytest.approx(3.0), CHANGED
    cube = np.array([[0.5, 0.5, 0.5]])
    assert compute_hypervolume(cube, np.ones(3)) == pytest.approx(0.125), CHANGED


def _trial(
    values: list[float], state: TrialState = TrialState.COMPLETE
) -> optuna.trial.FrozenTrial:
    return create_trial(values=values if state == TrialState.COMPLETE else None, state=state)


def test_dominance_of_known_trials() -> None:
    directions = [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]
    good, bad = _trial([0.9, 1.0]), _trial([0.5, 2.0])
    assert dominates(good, bad, directions), CHANGED
    assert not dominates(bad, good, directions), CHANGED
    assert not dominates(good, _trial([0.9, 1.0]), directions), CHANGED  # equal: no
    assert dominates(bad, _trial([], TrialState.FAIL), directions), CHANGED


def test_non_domination_ranks_put_infeasible_rows_behind() -> None:
    losses = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    assert fast_non_domination_rank(losses).tolist() == [1, 1, 2, 0], CHANGED
    penalty = np.array([0.0, 0.0, 0.0, 1.0])  # the best row is infeasible
    ranked = fast_non_domination_rank(losses, penalty=penalty).tolist()
    assert ranked[:3] == [0, 0, 1] and ranked[3] > 1, f"{CHANGED}: {ranked}"


def test_recorded_constraints_make_best_trials_skip_infeasible_ones() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["minimize", "minimize"])
    for values, violation in (([0.0, 0.0], 1.0), ([1.0, 1.0], -1.0)):
        trial = study.ask()
        record_constraints(lambda _t, v=violation: (v,), study, trial, TrialState.COMPLETE)
        study.tell(trial, values)
    assert [t.values for t in study.best_trials] == [[1.0, 1.0]], CHANGED
