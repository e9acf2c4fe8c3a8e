"""Feasibility of a trial: the study's constraints as Optuna constraint values (<= 0: satisfied)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sweeper.trial_record import ATTR_CONSTRAINTS


def constraint_values(
    constraints: Sequence[Any],
    metrics: Mapping[str, float],
    baseline: Mapping[str, float],
    *,
    fits_serving_instance: bool = True,
) -> dict[str, float]:
    """One value per constraint (label -> value), Optuna's convention: feasible when <= 0.

    ``min``: min - value; ``max``: value - max; ``min_vs_baseline``: baseline + d - value;
    ``fits_serving_memory``: -1 when the served model fits ``serving.instance``, else 1.
    A metric the trial did not produce counts as violated (+inf would break samplers: 1e9).
    """
    out: dict[str, float] = {}
    for c in constraints:
        if c.name == "fits_serving_memory":
            out[c.label] = -1.0 if fits_serving_instance else 1.0
            continue
        value = metrics.get(c.metric)
        if value is None or not math.isfinite(float(value)):
            out[c.label] = 1e9
        elif c.min is not None:
            out[c.label] = float(c.min) - float(value)
        elif c.max is not None:
            out[c.label] = float(value) - float(c.max)
        else:
            reference = baseline.get(c.metric)
            out[c.label] = (
                1e9 if reference is None else float(reference) + c.min_vs_baseline - float(value)
            )
    return out


def feasible(values: Mapping[str, float]) -> bool:
    return all(v <= 0 for v in values.values())


def constraints_func(n_constraints: int):
    """Optuna's ``constraints_func``: the values a trial recorded; trials without any (pruned,
    rejected before running) count as infeasible."""

    def read(trial: Any) -> list[float]:
        values = trial.user_attrs.get(ATTR_CONSTRAINTS)
        if not values:
            return [1.0] * n_constraints
        return [float(v) for v in values.values()]

    return read
