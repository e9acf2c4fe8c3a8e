"""A trial's record in the Optuna storage: its user-attribute keys, declared once, and its reading.

Everything a finished trial measured is kept in its user attributes (as well as in MLflow), so
results survive an unreachable tracking server and a crash resumes from storage. The study keeps
its own attributes beside them (the base-model evaluation, the study file, the MLflow view).
Every module that reads or writes these attributes names them by the constants below;
``TrialRecord.read`` turns a finished trial into typed fields, ``write_outcome`` writes what a
trial ends with.

This module is a leaf: it imports nothing of ``sweeper`` but ``sweeper.metrics``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import optuna

from sweeper.metrics import COST_EUR_TRIAL

__all__ = [
    "ATTR_CACHE",
    "ATTR_CONSTRAINTS",
    "ATTR_FAIL_REASON",
    "ATTR_INTERMEDIATE",
    "ATTR_MACHINE",
    "ATTR_METRICS",
    "ATTR_MLFLOW_RUN",
    "ATTR_PROJECTION",
    "ATTR_RUN_PARAMS",
    "STUDY_ATTR_BASELINE",
    "STUDY_ATTR_FILE",
    "STUDY_ATTR_OBJECTIVES",
    "STUDY_ATTR_SHA256",
    "STUDY_ATTR_VIEW",
    "TrialRecord",
    "baseline_cost_eur",
    "recorded_cost_eur",
    "spent_eur",
    "trial_states",
    "write_outcome",
]

# -- trial user attributes ------------------------------------------------------------------------
#: What the trial measured and was priced at (``sweeper.metrics`` names the keys).
ATTR_METRICS = "metrics"
#: Why the trial was pruned, rejected or failed (absent: it completed).
ATTR_FAIL_REASON = "fail_reason"
#: The trial's MLflow run id.
ATTR_MLFLOW_RUN = "mlflow_run_id"
#: The full-scale training and serving projections of the trial's configuration.
ATTR_PROJECTION = "projection"
#: Recipe step -> whether the work cache held it (``lora``, ``lora.<partner>``, ``eval``, ...).
ATTR_CACHE = "cache"
#: The machine the trial ran on (``hardware_probe.machine_name``): the quote compares a machine's
#: probe only with the trials measured there.
ATTR_MACHINE = "machine"
#: The constraint values, in the study's declared order (<= 0: satisfied).
ATTR_CONSTRAINTS = "constraints"
#: Intermediate values of pruning by training step (``sweeper.recipe._pruning``).
ATTR_INTERMEDIATE = "intermediate"
#: The parameters logged to the trial's MLflow run (``sweeper sync`` writes the same ones).
ATTR_RUN_PARAMS = "mlflow_params"

# -- study user attributes ------------------------------------------------------------------------
#: The base-model evaluation: ``{"metrics", "wall_seconds", "cost_eur_trial"}``.
STUDY_ATTR_BASELINE = "baseline"
#: The study file the study was last run from, and its SHA-256.
STUDY_ATTR_FILE = "study_file"
STUDY_ATTR_SHA256 = "study_sha256"
#: Objective name -> direction.
STUDY_ATTR_OBJECTIVES = "objectives"
#: Where the study's Pareto view opens in MLflow (``sweeper.mlflow_view``).
STUDY_ATTR_VIEW = "mlflow_view"


@dataclass(frozen=True)
class TrialRecord:
    """What the storage holds of one trial, typed (absent attributes read as empty/None)."""

    number: int
    state: optuna.trial.TrialState
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    fail_reason: str | None = None
    mlflow_run_id: str | None = None
    projection: dict[str, Any] = field(default_factory=dict)
    #: Recipe step -> cache hit; ``None``: a trial of a runner without a work cache.
    cache: dict[str, bool] | None = None
    machine: str | None = None
    constraints: dict[str, float] = field(default_factory=dict)
    #: Training step (as a string, as JSON keeps it) -> intermediate value.
    intermediate: dict[str, float] = field(default_factory=dict)
    run_params: dict[str, Any] | None = None
    #: When the trial finished (``None``: still running).
    completed: datetime | None = None

    @classmethod
    def read(cls, trial: optuna.trial.FrozenTrial) -> TrialRecord:
        attrs = trial.user_attrs
        return cls(
            number=trial.number,
            state=trial.state,
            params=dict(trial.params),
            metrics=dict(attrs.get(ATTR_METRICS) or {}),
            fail_reason=attrs.get(ATTR_FAIL_REASON),
            mlflow_run_id=attrs.get(ATTR_MLFLOW_RUN),
            projection=dict(attrs.get(ATTR_PROJECTION) or {}),
            cache=attrs.get(ATTR_CACHE) or None,
            machine=attrs.get(ATTR_MACHINE),
            constraints=dict(attrs.get(ATTR_CONSTRAINTS) or {}),
            intermediate=dict(attrs.get(ATTR_INTERMEDIATE) or {}),
            run_params=attrs.get(ATTR_RUN_PARAMS),
            completed=trial.datetime_complete,
        )

    @property
    def cost_eur_trial(self) -> float | None:
        """The trial's recorded cost (EUR); ``None`` when it recorded none."""
        return _as_eur(self.metrics.get(COST_EUR_TRIAL))


def write_outcome(
    trial: optuna.Trial,
    *,
    metrics: Mapping[str, Any] | None = None,
    fail_reason: str | None = None,
) -> None:
    """Record what a trial ends with: its metrics (replacing any recorded) and, when it did not
    complete, why."""
    if metrics is not None:
        trial.set_user_attr(ATTR_METRICS, metrics)
    if fail_reason is not None:
        trial.set_user_attr(ATTR_FAIL_REASON, fail_reason)


def recorded_cost_eur(attrs: Mapping[str, Any]) -> float | None:
    """``cost_eur_trial`` from a trial's user attributes (``metrics``); ``None``: none recorded."""
    metrics = attrs.get(ATTR_METRICS, {})
    return _as_eur(metrics.get(COST_EUR_TRIAL) if isinstance(metrics, Mapping) else None)


def baseline_cost_eur(study_attrs: Mapping[str, Any]) -> float | None:
    """What the base-model evaluation cost (EUR), from the study's user attributes; ``None``: it
    has not run (or recorded no cost)."""
    record = study_attrs.get(STUDY_ATTR_BASELINE) or {}
    return _as_eur(record.get(COST_EUR_TRIAL) if isinstance(record, Mapping) else None)


def spent_eur(study: optuna.Study) -> float:
    """EUR spent by every recorded trial of the study (failed and pruned ones too) plus its
    baseline."""
    total = sum(
        float(t.user_attrs.get(ATTR_METRICS, {}).get(COST_EUR_TRIAL, 0.0))
        for t in study.get_trials(deepcopy=False)
    )
    baseline = study.user_attrs.get(STUDY_ATTR_BASELINE) or {}
    return total + float(baseline.get(COST_EUR_TRIAL, 0.0))


def trial_states(study: optuna.Study) -> dict[str, int]:
    """How many trials the study has in each Optuna state (COMPLETE, FAIL, ...)."""
    return dict(Counter(t.state.name for t in study.get_trials(deepcopy=False)))


def _as_eur(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
