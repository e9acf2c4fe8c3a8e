"""A sampler that weighs what a trial is expected to buy against what it is expected to cost.

Optuna's samplers treat every trial as equally expensive (optuna/optuna#2289, #3656). Here each
trial (after ``n_startup_trials``) draws ``n_candidates`` configurations of the study's relative
search space -- half proposed by the base sampler (TPE by default), half uniformly at random --
and runs the one with the highest

    optimistic hypervolume improvement / predicted euros

The improvement is that of an optimistic point (kernel-regression mean minus ``exploration``
standard deviations, in objective space normalised to the observed range) over the current
Pareto front; the euros come from ``cost_eur(study, params)``, called before the trial runs (for
a recipe study: ``recipe_trial_cost_eur``, which knows that a LoRA already trained is cheap).
Conditional parameters outside the relative space are left to the base sampler.

Everything it reads is in the study storage, so it works with every storage and with several
workers sharing a study.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from sweeper.upstream import compute_hypervolume

#: Predicted euros of one trial with the given (relative-space) parameters.
TrialCostEur = Callable[[optuna.Study, dict[str, Any]], float]

#: Cost floor (EUR) so that a free candidate does not win on a zero denominator alone.
MIN_COST_EUR = 1e-9


class CostAwareSampler(BaseSampler):
    """Hypervolume improvement per euro over candidates from a base sampler and random draws.

    Args:
        cost_eur: predicted EUR of a trial, from the study and the candidate's parameters.
        base_sampler: proposes half the candidates and samples what this sampler leaves out
            (startup trials, conditional parameters); default TPE.
        n_candidates: configurations scored per trial.
        n_startup_trials: completed trials before scoring starts (the base sampler decides
            until then); with 0, the first trial is already the cheapest candidate.
        exploration: standard deviations subtracted from the predicted (normalised, minimised)
            objectives: 0 trusts the kernel regression, larger explores more.
        bandwidth: kernel width in normalised parameter distance (0..1 per dimension, averaged).
        seed: seeds the random candidates and the default base sampler.
        constraints_func: passed to the default base sampler (feasibility is then recorded and
            ``study.best_trials``, the front scored against, skips infeasible trials).
    """

    def __init__(
        self,
        cost_eur: TrialCostEur,
        *,
        base_sampler: BaseSampler | None = None,
        n_candidates: int = 16,
        n_startup_trials: int = 6,
        exploration: float = 1.0,
        bandwidth: float = 0.25,
        seed: int | None = None,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        if n_startup_trials < 0:
            raise ValueError(f"`n_startup_trials >= 0` must hold, but got {n_startup_trials=}.")
        if n_candidates < 1:
            raise ValueError(f"`n_candidates >= 1` must hold, but got {n_candidates=}.")
        if bandwidth <= 0:
            raise ValueError(f"`bandwidth > 0` must hold, but got {bandwidth=}.")
        self._cost_eur = cost_eur
        self._base = base_sampler or TPESampler(
            seed=seed,
            n_startup_trials=n_startup_trials,
            constraints_func=constraints_func,
        )
        self._n_candidates = n_candidates
        self._n_startup_trials = n_startup_trials
        self._exploration = exploration
        self._bandwidth = bandwidth
        self._rng = np.random.RandomState(seed)
        self._space = IntersectionSearchSpace(include_pruned=True)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._base.reseed_rng()

    # --- BaseSampler ----------------------------------------------------------------------------

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {n: d for n, d in self._space.calculate(study).items() if not d.single()}

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        complete = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.values is not None and all(n in t.params for n in search_space)
        ]
        if len(complete) < self._n_startup_trials:
            return {}  # the base sampler decides (TPE: random startup)
        candidates = self._candidates(study, trial, search_space)
        seen = {_key(t.params, search_space) for t in complete}
        fresh = [c for c in candidates if _key(c, search_space) not in seen] or candidates
        costs = np.array([max(float(self._cost_eur(study, c)), MIN_COST_EUR) for c in fresh])
        if complete:
            gains = self._optimistic_gains(study, complete, fresh, search_space)
        else:  # no front yet (n_startup_trials=0): every candidate would found it
            gains = np.zeros(len(fresh))
        if not np.any(gains > 0):
            # Nothing is expected to improve the front: explore where it is cheapest to look.
            gains = np.ones(len(fresh))
        return fresh[int(np.argmax(gains / costs))]

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._base.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._base.after_trial(study, trial, state, values)

    # --- scoring --------------------------------------------------------------------------------

    def _candidates(
        self, study: optuna.Study, trial: FrozenTrial, space: dict[str, BaseDistribution]
    ) -> list[dict[str, Any]]:
        n_base = self._n_candidates // 2
        out = [
            {n: self._base.sample_independent(study, trial, n, d) for n, d in space.items()}
            for _ in range(n_base)
        ]
        draw = RandomSampler(seed=int(self._rng.randint(2**31 - 1)))
        out += [
            {n: draw.sample_independent(study, trial, n, d) for n, d in space.items()}
            for _ in range(self._n_candidates - n_base)
        ]
        return out

    def _optimistic_gains(
        self,
        study: optuna.Study,
        complete: list[FrozenTrial],
        candidates: list[dict[str, Any]],
        space: dict[str, BaseDistribution],
    ) -> np.ndarray:
        signs = np.array([1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in study.directions])
        y = np.array([t.values for t in complete], dtype=float) * signs
        lo, hi = y.min(axis=0), y.max(axis=0)
        scale = np.where(hi > lo, hi - lo, 1.0)
        y = (y - lo) / scale
        front_numbers = _front_numbers(study)
        front = np.array([y[i] for i, t in enumerate(complete) if t.number in front_numbers])
        ref = np.full(y.shape[1], 1.1)
        base_hv = compute_hypervolume(front, ref) if len(front) else 0.0
        x = np.array([_encode(t.params, space) for t in complete])
        categorical = np.array([isinstance(d, CategoricalDistribution) for d in space.values()])
        prior_var = y.var(axis=0) + 1e-12
        gains = np.zeros(len(candidates))
        for i, c in enumerate(candidates):
            diff = np.abs(x - _encode(c, space))
            diff[:, categorical] = diff[:, categorical] > 0
            w = np.exp(-((diff.mean(axis=1) / self._bandwidth) ** 2))
            n_eff = float(w.sum())
            if n_eff < 1e-12:
                mean, var = y.mean(axis=0), prior_var
            else:
                mean = w @ y / n_eff
                var = w @ (y - mean) ** 2 / n_eff + prior_var / (1.0 + n_eff)
            point = np.minimum(mean - self._exploration * np.sqrt(var), ref)
            if len(front) and np.any(np.all(front <= point, axis=1)):
                continue  # dominated: no improvement
            stacked = np.vstack([front, point[None, :]]) if len(front) else point[None, :]
            gains[i] = max(compute_hypervolume(stacked, ref) - base_hv, 0.0)
        return gains


def _front_numbers(study: optuna.Study) -> set[int]:
    """The trials on the study's (feasible) Pareto front; none while no trial is feasible."""
    try:
        return {t.number for t in study.best_trials}
    except ValueError:  # a single-objective study raises when no completed trial is feasible
        return set()


def _encode(params: dict[str, Any], space: dict[str, BaseDistribution]) -> np.ndarray:
    """Parameters as numbers in 0..1 (numeric, log-scaled where the distribution is) or choice
    indices (categorical, compared for equality only)."""
    out = []
    for name, dist in space.items():
        value = params[name]
        if isinstance(dist, CategoricalDistribution):
            out.append(float(dist.choices.index(value)))
            continue
        low, high, v = float(dist.low), float(dist.high), float(value)
        if getattr(dist, "log", False):
            low, high, v = math.log(low), math.log(high), math.log(v)
        out.append((v - low) / (high - low) if high > low else 0.0)
    return np.array(out)


def _key(params: dict[str, Any], space: dict[str, BaseDistribution]) -> tuple:
    return tuple(params.get(n) for n in space)
