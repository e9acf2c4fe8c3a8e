"""A finished trial as the report sees it: its measurements, projection and constraints.

Built once from Optuna's ``FrozenTrial`` (the edge); everything else in ``sweeper.report`` is a
pure function of these records, so a repriced copy of a study is analysed exactly like the study.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sweeper.trial_record import (
    ATTR_CONSTRAINTS,
    ATTR_FAIL_REASON,
    ATTR_METRICS,
    ATTR_MLFLOW_RUN,
    ATTR_PROJECTION,
)

Direction = Literal["maximize", "minimize"]

#: Trial user-attribute keys (``sweeper.trial_record``, a leaf module: no recipe machinery).
_ATTR_METRICS = ATTR_METRICS
_ATTR_PROJECTION = ATTR_PROJECTION
_ATTR_CONSTRAINTS = ATTR_CONSTRAINTS
_ATTR_MLFLOW_RUN = ATTR_MLFLOW_RUN
_ATTR_FAIL_REASON = ATTR_FAIL_REASON


@dataclass(frozen=True)
class Objective:
    """One study objective: a metric name (``sweeper.metrics``) and its direction."""

    name: str
    direction: Direction

    @property
    def sign(self) -> float:
        """Multiplies a value into a loss (lower is better)."""
        return -1.0 if self.direction == "maximize" else 1.0


@dataclass(frozen=True)
class TrialRecord:
    """What one trial recorded. Money in ``metrics`` is in euros (``cost_eur_*`` keys)."""

    number: int
    state: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    projection: dict[str, Any] = field(default_factory=dict)
    #: Constraint values; > 0 means violated (Optuna's convention).
    constraints: tuple[float, ...] = ()
    constraint_names: tuple[str, ...] = ()
    mlflow_run_id: str | None = None
    fail_reason: str | None = None

    @property
    def complete(self) -> bool:
        return self.state == "COMPLETE"

    @property
    def feasible(self) -> bool:
        return all(v <= 0 for v in self.constraints)

    @property
    def penalty(self) -> float:
        """Sum of the violated constraint values (0 for a feasible trial)."""
        return float(sum(v for v in self.constraints if v > 0))

    def value(self, name: str) -> float | None:
        v = self.metrics.get(name)
        return None if v is None else float(v)

    def has_values(self, objectives: Sequence[Objective]) -> bool:
        return all(self.value(o.name) is not None for o in objectives)

    def with_metrics(self, updates: dict[str, float], projection: dict[str, Any]) -> TrialRecord:
        return replace(self, metrics={**self.metrics, **updates}, projection=projection)


def record_from_trial(trial: Any, objectives: Sequence[Objective] = ()) -> TrialRecord:
    """A ``TrialRecord`` from an Optuna ``FrozenTrial``.

    Objective values come from the trial's ``metrics`` user attribute, falling back to
    ``trial.values`` (a trial added without the sweeper's attributes). Constraints are the ones
    Optuna itself uses for ``best_trials`` (system attribute), else the sweeper's named ones.
    """
    attrs = trial.user_attrs
    metrics = {k: float(v) for k, v in (attrs.get(_ATTR_METRICS) or {}).items() if _is_number(v)}
    if trial.values is not None:
        for objective, v in zip(objectives, trial.values, strict=False):
            metrics.setdefault(objective.name, float(v))
    named = attrs.get(_ATTR_CONSTRAINTS) or {}
    system = trial.system_attrs.get("constraints")
    constraints = tuple(float(v) for v in (system if system is not None else named.values()))
    return TrialRecord(
        number=int(trial.number),
        state=trial.state.name,
        params=dict(trial.params),
        metrics=metrics,
        projection=dict(attrs.get(_ATTR_PROJECTION) or {}),
        constraints=constraints,
        constraint_names=tuple(named) if len(named) == len(constraints) else (),
        mlflow_run_id=attrs.get(_ATTR_MLFLOW_RUN),
        fail_reason=attrs.get(_ATTR_FAIL_REASON),
    )


def records_from_trials(
    trials: Iterable[Any], objectives: Sequence[Objective] = ()
) -> list[TrialRecord]:
    return [record_from_trial(t, objectives) for t in trials]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
