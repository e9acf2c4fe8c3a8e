"""Optuna's private functions that this project calls, in one place.

Optuna 5.1 has no public API for any of these (``optuna.visualization.plot_hypervolume_history``
draws a hypervolume but does not return one; ``Study.best_trials`` recomputes the whole front,
where the sweep's incremental Pareto tags compare one trial with the front). Each is re-exported
under a plain name with the signature we rely on; ``tests/sweeper/upstream/test_optuna.py`` checks
signatures and results on known inputs, and fails naming the installed Optuna version when one
changes. ``OPTUNA_SUPPORTED`` is the range pinned in ``pyproject.toml``: the four names exist with
these signatures from Optuna 4.5.0 (read in its source) and are tested on the locked 5.1.0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import optuna
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

#: The Optuna versions whose private APIs below this project is tested with (pyproject's pin).
OPTUNA_SUPPORTED = ">=4.5,<5.2"

try:
    from optuna._hypervolume import compute_hypervolume as _compute_hypervolume
    from optuna.samplers._base import (
        _process_constraints_after_trial as _process_constraints_after_trial,
    )
    from optuna.study._multi_objective import _dominates as _dominates
    from optuna.study._multi_objective import (
        _fast_non_domination_rank as _fast_non_domination_rank,
    )
except ImportError as exc:  # pragma: no cover - only on an unsupported Optuna
    raise ImportError(
        f"sweeper needs Optuna {OPTUNA_SUPPORTED} (it uses private Optuna APIs, see "
        f"sweeper/upstream/_optuna.py), but Optuna {optuna.__version__} is installed: {exc}"
    ) from exc


def compute_hypervolume(loss_vals: np.ndarray, reference_point: np.ndarray) -> float:
    """Exact hypervolume dominated by ``loss_vals`` (rows of losses: every objective minimised)
    up to ``reference_point``; every row must be <= the reference point. Dominated rows are
    allowed (they add nothing)."""
    return float(_compute_hypervolume(loss_vals, reference_point))


def dominates(
    trial0: FrozenTrial, trial1: FrozenTrial, directions: Sequence[StudyDirection]
) -> bool:
    """Whether ``trial0`` Pareto-dominates ``trial1`` under ``directions`` (a complete trial
    dominates one that is not complete; equal values do not dominate)."""
    return bool(_dominates(trial0, trial1, directions))


def fast_non_domination_rank(
    loss_values: np.ndarray, *, penalty: np.ndarray | None = None
) -> np.ndarray:
    """Non-domination rank of each row of ``loss_values`` (0 = the front); with ``penalty``
    (summed positive constraint violations, NaN = unknown) feasible rows rank before infeasible
    ones, as in ``Study.best_trials``."""
    return _fast_non_domination_rank(loss_values, penalty=penalty)


def record_constraints(
    constraints_func: Callable[[FrozenTrial], Sequence[float]],
    study: Study,
    trial: FrozenTrial,
    state: TrialState,
) -> None:
    """Stores ``constraints_func(trial)`` as the trial's constraint values (only for a COMPLETE or
    PRUNED ``state``), as Optuna's constrained samplers do after each trial: ``best_trials`` then
    skips infeasible trials. For a sampler of our own that takes no ``constraints_func``."""
    _process_constraints_after_trial(constraints_func, study, trial, state)
