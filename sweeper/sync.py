"""Write to MLflow what a sweep could not: finished trials without a run, runs left RUNNING.

The Optuna storage holds every finished trial's record (user attrs ``metrics``, ``fail_reason``,
``projection``, ``mlflow_run_id``), also when the tracking server was down while the trial ran or
its worker was killed. A sync pass compares it with MLflow, the source of truth for what is there
(a finished Optuna trial cannot be given a new run id): the parent run's child runs, found by
their ``sweeper.trial_number`` tag. For each finished trial:

- a child run in a final state (tag ``sweeper.state`` other than RUNNING): nothing to do;
- a child run still RUNNING (MLflow went away mid-trial, or the worker was killed): it gets the
  trial's metrics, state and fail reason and is closed;
- no child run: one is created under the parent with the trial's parameters, metrics, state,
  fail reason, provenance tags, ``sweeper.synced=true`` and the ``trial.json`` artifact.

Writers never duplicate a run: before writing a trial, a pass claims ``mlflow-trial:PARENT:N``
in the study storage (``sweeper.storage.Claims``); whoever holds the claim writes, the others skip
it. A claim whose writer died is taken over after ``STALE_CLAIM_S``.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweeper.storage import Claims
from sweeper.tracking import Tracker
from sweeper.trial_record import (
    ATTR_FAIL_REASON,
    ATTR_METRICS,
    ATTR_MLFLOW_RUN,
    ATTR_PROJECTION,
    ATTR_RUN_PARAMS,
)

log = logging.getLogger(__name__)

#: Seconds after which another process may take over a trial whose writer has not finished.
STALE_CLAIM_S = 300
SYNCED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
NO_REASON = "no reason recorded: its worker was killed or lost (stale heartbeat)"
#: Parent-run tags copied to each synced trial run (provenance of the study).
_PROVENANCE_PREFIXES = ("sweeper.version", "sweeper.git_sha", "sweeper.study_sha256", "catalog.")
_PROVENANCE_KEYS = ("fx",)


@dataclass
class SyncReport:
    """Trial numbers by what a sync pass did with them."""

    created: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)

    @property
    def written(self) -> list[int]:
        return sorted(self.created + self.closed)


def sync_trials(
    study: optuna.Study,
    tracker: Tracker,
    parent_run_id: str,
    claims: Claims,
) -> SyncReport:
    """Make MLflow hold exactly one finished child run per finished trial of ``study``.

    Raises ``TrackingUnavailable`` when the tracking server stops answering; what was written
    before stays written, and the next pass goes on from there.
    """
    report = SyncReport()
    finished = study.get_trials(deepcopy=False, states=SYNCED_STATES)
    if not finished:
        return report
    runs = tracker.trial_runs(parent_run_id)
    parent_tags: dict[str, str] | None = None
    front: set[int] | None = None  # Pareto-optimal trial numbers, computed when first needed
    for trial in sorted(finished, key=lambda t: t.number):
        found = runs.get(trial.number, [])
        if any(_is_final(run) for run in found):
            report.present.append(trial.number)
            continue
        key = f"mlflow-trial:{parent_run_id}:{trial.number}"
        token = f"pending:{uuid.uuid4().hex}:{int(time.time())}"
        if not _take(claims, key, token, tracker):
            report.busy.append(trial.number)
            continue
        try:
            if found:
                run_id = _pick(found, trial).info.run_id
                report.closed.append(trial.number)
            else:
                if parent_tags is None:
                    parent_tags = _provenance(tracker, parent_run_id)
                run_id = tracker.start_trial(
                    parent_run_id,
                    trial.number,
                    trial_params(trial),
                    {**parent_tags, "sweeper.synced": "true", **_retry_tag(trial)},
                )
                report.created.append(trial.number)
            tags = _final_tags(trial)
            if trial.state == TrialState.COMPLETE:
                if front is None:
                    front = {t.number for t in study.best_trials}
                tags["pareto"] = "true" if trial.number in front else "false"
            tracker.end_trial(run_id, trial.state.name, _metrics(trial), tags)
        except BaseException:
            claims.swap(key, token, "released")
            raise
        claims.swap(key, token, run_id)
    if report.written:
        log.info("synced trials %s of study %r to MLflow", report.written, study.study_name)
    return report


def trial_params(trial: FrozenTrial) -> dict[str, Any]:
    """What a synced run logs as params: the objective's own record of them when it kept one,
    else Optuna's sampled parameters plus the projection's scalar fields (``projection_...``)."""
    logged = trial.user_attrs.get(ATTR_RUN_PARAMS)
    if isinstance(logged, dict) and logged:
        return dict(logged)
    params: dict[str, Any] = dict(trial.params)
    params.update(_flatten("projection", trial.user_attrs.get(ATTR_PROJECTION) or {}))
    return params


def _take(claims: Claims, key: str, token: str, tracker: Tracker) -> bool:
    """Claim ``key`` for this pass, or take it over from a writer that released it, died
    (pending for over ``STALE_CLAIM_S``) or whose run is gone from MLflow."""
    held = claims.claim(key, token)
    if held == token:
        return True
    if held.startswith("pending:"):
        started = int(held.rsplit(":", 1)[1])
        if time.time() - started < STALE_CLAIM_S:
            return False
    elif held != "released" and _run_is_final(tracker, held):
        return False  # written between our search and our claim
    return claims.swap(key, held, token)


def _run_is_final(tracker: Tracker, run_id: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        run = tracker.client.get_run(run_id)
    except MlflowException:
        return False
    return run.info.lifecycle_stage == "active" and _is_final(run)


def _is_final(run: Any) -> bool:
    return run.data.tags.get("sweeper.state", "RUNNING") != "RUNNING"


def _pick(found: list[Any], trial: FrozenTrial) -> Any:
    """The run the trial recorded as its own, else the oldest."""
    recorded = trial.user_attrs.get(ATTR_MLFLOW_RUN)
    for run in found:
        if run.info.run_id == recorded:
            return run
    return min(found, key=lambda run: run.info.start_time or 0)


def _metrics(trial: FrozenTrial) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in (trial.user_attrs.get(ATTR_METRICS) or {}).items():
        try:
            out[name] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def _final_tags(trial: FrozenTrial) -> dict[str, str]:
    """The fail reason of a failed trial, and of a pruned one that recorded why (e.g. refused by
    the budget before it started)."""
    reason = trial.user_attrs.get(ATTR_FAIL_REASON)
    if reason is None and trial.state == TrialState.FAIL:
        reason = NO_REASON
    return {} if reason is None else {"sweeper.fail_reason": str(reason)[:4000]}


def _retry_tag(trial: FrozenTrial) -> dict[str, str]:
    retried = trial.system_attrs.get("failed_trial")
    return {} if retried is None else {"sweeper.retry_of_trial": str(retried)}


def _provenance(tracker: Tracker, parent_run_id: str) -> dict[str, str]:
    tags = tracker.client.get_run(parent_run_id).data.tags
    return {
        k: v for k, v in tags.items() if k.startswith(_PROVENANCE_PREFIXES) or k in _PROVENANCE_KEYS
    }


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(f"{prefix}_{k}", v))
        return out
    if isinstance(value, (str, int, float, bool)):
        return {prefix: value}
    return {}


def sync_quietly(
    study: optuna.Study, tracker: Tracker, parent_run_id: str, storage_url: str
) -> SyncReport | None:
    """``sync_trials`` for a running sweep: never raises, clears ``tracker.missed`` when done."""
    try:
        with Claims(storage_url) as claims:
            report = sync_trials(study, tracker, parent_run_id, claims)
    except Exception as exc:
        log.warning("could not sync earlier trials to MLflow yet: %s", exc)
        return None
    tracker.missed = bool(report.busy)
    return report
