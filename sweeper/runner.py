"""Running a sweep: Optuna asks, a LoRA trial trains and evaluates, costs are computed, MLflow logs.

Everything a finished trial measured is kept in the Optuna storage (trial user attributes,
``sweeper.trial_record``) as well as in MLflow, so results survive an unreachable tracking server
and a crash resumes from storage. This module is the composition root: it gives the budget guard
(``sweeper.budget``) its estimator, the quote's ``reservation_estimates``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import optuna

import objectives
from objectives import resolve_model_path
from objectives.device import DeviceError, resolve_device, resolve_dtype
from sweeper.budget import BudgetGuard
from sweeper.costing import PricingContext, cost_eur_for_seconds, trial_hardware_price
from sweeper.errors import StudyFileError
from sweeper.handoff import log_winners
from sweeper.metrics import (
    BASELINE_COST_EUR,
    COST_EUR_TRIAL,
    SPENT_EUR_TOTAL,
    WALL_SECONDS,
    baseline_metric,
    best_metric,
    trials_in_state_metric,
)
from sweeper.mlflow_view import ParetoPublisher, ViewLink, log_study_inputs_quietly
from sweeper.provenance import provenance_tags
from sweeper.quote import reservation_estimates
from sweeper.recipe import (
    ModelLoad,
    RecipeObjective,
    WorkCache,
    default_cache_dir,
    score_metrics,
)
from sweeper.redaction import redact_url
from sweeper.report import log_review, pareto_run_tags, study_pareto_ranks
from sweeper.samplers import make_sampler
from sweeper.storage import GRACE_PERIOD_S, StopAtTotalTrials, open_storage, open_study
from sweeper.study import Choices, Fixed, LoadedStudy
from sweeper.sync import sync_quietly
from sweeper.tracking import Tracker, TrackingUnavailable, storage_id
from sweeper.trial_record import (
    ATTR_FAIL_REASON,
    ATTR_METRICS,
    ATTR_MLFLOW_RUN,
    STUDY_ATTR_BASELINE,
    STUDY_ATTR_FILE,
    STUDY_ATTR_OBJECTIVES,
    STUDY_ATTR_SHA256,
    spent_eur,
    trial_states,
    write_outcome,
)
from sweeper.upstream import dominates

log = logging.getLogger(__name__)

#: The fail reason of a trial stopped by Ctrl-C or SIGTERM (``sweeper.cli._interrupt``).
INTERRUPTED = "interrupted"


class _InterruptWithoutTraceback(logging.Filter):
    """Optuna logs a trial stopped by Ctrl-C with the interrupt's traceback; which line of which
    library was running is noise there (the trial's record says "interrupted")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            record.exc_info = record.exc_text = None
        return True


#: Where Optuna logs a failed trial.
logging.getLogger("optuna.study._optimize").addFilter(_InterruptWithoutTraceback())

__all__ = [
    "INTERRUPTED",
    "RecipeObjective",
    "SweepSummary",
    "TrialReport",
    "run_sweep",
    "score_metrics",
]


@dataclass
class TrialReport:
    """What the progress display gets after each trial."""

    number: int
    state: str
    values: dict[str, float]
    cost_eur_trial: float
    spent_eur_total: float
    fail_reason: str | None = None


@dataclass
class SweepSummary:
    study_name: str
    trials_run: int
    states: dict[str, int]
    spent_eur_total: float
    best_trials: list[int]
    parent_run_id: str | None
    reports: list[TrialReport] = field(default_factory=list)
    #: Where the study's Pareto view opens in MLflow (None without MLflow or a logged trial).
    mlflow_view: ViewLink | None = None


def run_sweep(
    loaded: LoadedStudy,
    *,
    n_trials: int,
    storage_url: str,
    tracking_uri: str | None,
    artifact_root: Path | None = None,
    baseline: bool = True,
    on_trial: Callable[[TrialReport, optuna.Study], None] | None = None,
    on_status: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
    total_trials: int | None = None,
    device: str = "auto",
    update_budget: bool = False,
) -> SweepSummary:
    """Add ``n_trials`` trials to the study (creating or resuming it) and log them to MLflow.

    ``device`` (``auto``, ``cpu``, ``cuda:N``) is where every trial runs (``objectives.device``).

    With ``total_trials``, run trials until the study has that many finished ones instead (see
    ``StopAtTotalTrials``): what each of several workers sharing the study does.
    ``update_budget``: the study file's ``budget_eur`` may replace a different stored budget.
    """
    status = on_status or (lambda _msg: None)
    load = model_load(loaded, device)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_url)
    study = open_study(loaded, storage)
    # A resumed run must not replay the same random draws: offset the seed by the trials so far.
    study.sampler = make_sampler(loaded, loaded.spec.seed + len(study.get_trials(deepcopy=False)))
    study.set_user_attr(STUDY_ATTR_FILE, str(loaded.path))
    study.set_user_attr(STUDY_ATTR_SHA256, loaded.sha256)
    study.set_user_attr(
        STUDY_ATTR_OBJECTIVES, dict(zip(loaded.objective_names, loaded.directions, strict=True))
    )

    ctx = PricingContext.load()
    tracker = parent_id = None
    if tracking_uri is not None:
        status(f"MLflow: {redact_url(tracking_uri)}")
        try:
            tracker = Tracker(tracking_uri, loaded.name, artifact_root)
            parent_id = tracker.parent_run(
                loaded.name,
                storage_id(storage_url),
                params={
                    "study_file": str(loaded.path),
                    "objectives": json.dumps(study.user_attrs[STUDY_ATTR_OBJECTIVES]),
                    "search_space": loaded.spec.search_space.model_dump_json()[:6000],
                },
                tags=provenance_tags(loaded.sha256, loaded.spec.seed, ctx.provenance()),
                storage_url=storage_url,  # workers agree on one parent run through the storage
            )
            log_study_inputs_quietly(tracker, parent_id, loaded)
        except TrackingUnavailable as exc:  # trials stay in the storage; `sweeper sync` later
            status(f"{exc}; running without MLflow, `sweeper sync` writes the trials later")
            tracker = parent_id = None
    try:  # from here on, the parent run is closed whatever happens (see the `finally` below)
        budget, model_path = _prepare_trials(
            loaded,
            study,
            storage_url,
            ctx,
            tracker,
            parent_id,
            status,
            baseline,
            update_budget,
            load,
        )
    except BaseException as exc:
        _close_parent(tracker, parent_id, study, loaded, storage_url, _parent_status(exc))
        raise
    cache = WorkCache(cache_dir or loaded.spec.cache_dir or default_cache_dir())
    objective = RecipeObjective(loaded, ctx, tracker, parent_id, model_path, cache, load)
    hw_eur_per_hour = trial_hardware_price(loaded.spec, ctx).eur_per_hour
    objective = _recording_interruption(objective, tracker, hw_eur_per_hour)
    objective = budget.wrap(objective)  # reserve before each trial, settle after (budget guard)
    reports: list[TrialReport] = []
    pareto_tags = ParetoTagger(tracker) if tracker is not None else None
    review = (
        ParetoPublisher(tracker, parent_id, storage_id(storage_url))
        if tracker is not None and parent_id is not None
        else None
    )

    def after_trial(st: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        metrics = frozen.user_attrs.get(ATTR_METRICS, {})
        values = {n: float(metrics[n]) for n in loaded.objective_names if n in metrics}
        report = TrialReport(
            number=frozen.number,
            state=frozen.state.name,
            values=values,
            cost_eur_trial=float(metrics.get(COST_EUR_TRIAL, 0.0)),
            spent_eur_total=spent_eur(st),
            fail_reason=frozen.user_attrs.get(ATTR_FAIL_REASON),
        )
        reports.append(report)
        if tracker is not None and parent_id is not None:
            try:
                # One write to the parent run a trial: spend, and the budget's balance if any.
                tracker.log(
                    parent_id,
                    metrics={SPENT_EUR_TOTAL: report.spent_eur_total} | budget.balance_metrics(),
                    step=frozen.number,
                )
                assert pareto_tags is not None and review is not None
                pareto_tags.update(st)
                review.after_trial(st)  # the Pareto view, charts and description (never raises)
                if tracker.missed:  # MLflow answers again: write the trials it missed
                    sync_quietly(st, tracker, parent_id, storage_url)
            except Exception as exc:  # never fatal
                log.warning("could not log spend to MLflow: %s", exc)
        if on_trial is not None:
            on_trial(report, st)

    stop_at = None if total_trials is None else StopAtTotalTrials(total_trials)
    status(
        f"running {n_trials} trial(s)"
        if stop_at is None
        else f"running trials until the study has {total_trials} finished"
    )
    parent_status = "FINISHED"
    try:
        if stop_at is None:
            study.optimize(
                objective, n_trials=n_trials, catch=(Exception,), callbacks=[after_trial]
            )
        elif not stop_at.reached(study):
            study.optimize(objective, catch=(Exception,), callbacks=[after_trial, stop_at])
    except BaseException as exc:
        parent_status = _parent_status(exc)
        raise
    finally:
        _close_parent(tracker, parent_id, study, loaded, storage_url, parent_status, review, cache)
    states = trial_states(study)
    return SweepSummary(
        study_name=loaded.name,
        trials_run=len(reports),
        states=states,
        spent_eur_total=spent_eur(study),
        best_trials=[t.number for t in study.best_trials] if states.get("COMPLETE") else [],
        parent_run_id=parent_id,
        reports=reports,
        mlflow_view=review.link if review is not None else None,
    )


def _prepare_trials(
    loaded: LoadedStudy,
    study: optuna.Study,
    storage_url: str,
    ctx: PricingContext,
    tracker: Tracker | None,
    parent_id: str | None,
    status: Callable[[str], None],
    baseline: bool,
    update_budget: bool,
    load: Any,
) -> tuple[BudgetGuard, str]:
    """The budget guard and the model folder; the base-model evaluation once per study."""
    budget = BudgetGuard.open(
        loaded,
        study,
        storage_url,
        eur_per_hour=trial_hardware_price(loaded.spec, ctx).eur_per_hour,
        estimate=reservation_estimates,
        stale_grace_s=GRACE_PERIOD_S,
        on_status=status,
        tracker=tracker,
        parent_run_id=parent_id,
        update_budget=update_budget,
    )
    status("preparing the model (first run converts the bundled GGUF once)")
    model_path = resolve_model_path(loaded.spec.model.path)

    if baseline and STUDY_ATTR_BASELINE not in study.user_attrs:
        status("evaluating the base model (once per study)")
        evaluate = partial(
            _record_baseline, loaded, study, ctx, tracker, parent_id, model_path, load
        )
        if not budget.run_baseline(study, evaluate):
            status("budget: the base-model evaluation does not fit in what remains; skipped")
    return budget, model_path


def _parent_status(exc: BaseException) -> str:
    """The MLflow status of a parent run whose sweep ended with ``exc``."""
    return "KILLED" if isinstance(exc, (KeyboardInterrupt, SystemExit)) else "FAILED"


def _close_parent(
    tracker: Tracker | None,
    parent_id: str | None,
    study: optuna.Study,
    loaded: LoadedStudy,
    storage_url: str,
    parent_status: str,
    review: ParetoPublisher | None = None,
    cache: WorkCache | None = None,
) -> None:
    """Write what MLflow missed and the study's summary, and end the parent run (never raises).
    A sweep that was not interrupted also gets its final Pareto view and charts, and its
    winners' adapters and registered model (``review``, ``cache``)."""
    if tracker is None or parent_id is None:
        return
    sync_quietly(study, tracker, parent_id, storage_url)  # e.g. a killed worker's run
    killed = parent_status == "KILLED"
    try:
        # Interrupted: no review charts (seconds); the next run writes them.
        _log_parent_summary(tracker, parent_id, study, loaded, review=not killed)
        if not killed and review is not None:
            review.finish(study)
        if not killed and cache is not None:
            log_winners(tracker, parent_id, study, loaded, cache)  # adapters, registry
    except Exception as exc:
        log.warning("could not log the study's summary to MLflow: %s", exc)
    try:
        tracker.end_parent(parent_id, status=parent_status)
    except Exception as exc:
        log.warning("could not finish the MLflow parent run: %s", exc)


class ParetoTagger:
    """Keeps every child run's ``pareto`` tag equal to its membership of Optuna's ``best_trials``.

    The first update in a process writes every completed trial's ``pareto`` and ``pareto_rank``
    tags (a resumed study may have changed). Later updates are incremental: each trial completed
    since (by this worker or another) is compared with the current front only -- Optuna's own
    dominance and feasibility rules -- and only the runs whose membership changed, plus the new
    trials, are written: O(front) a trial instead of recomputing the front of the whole study.
    Runs that join the front get ``pareto_rank`` 0 and runs that leave it 1 (exact: only the new
    front trial dominates them); a new trial behind the front, and ranks behind the front that
    shift, get their rank at the sweep's end, which rewrites them all (``report.log_review``).
    """

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.front: dict[int, optuna.trial.FrozenTrial] | None = None
        self.seen: set[int] = set()

    def update(self, study: optuna.Study) -> set[int]:
        """Write the tags that changed; returns the front's trial numbers."""
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if not complete:
            return set()
        tags: dict[int, dict[str, str]] = {}
        if self.front is None:
            self.front = {t.number: t for t in study.best_trials}
            ranks = study_pareto_ranks(study)
            for t in complete:
                tags[t.number] = pareto_run_tags(t.number in self.front, ranks.get(t.number))
        else:
            before = set(self.front)
            new = [t for t in complete if t.number not in self.seen]
            for t in new:
                self._add(t, study.directions)
            for number in (set(self.front) ^ before) | {t.number for t in new}:
                if number in self.front:  # joined the front
                    tags[number] = pareto_run_tags(True, 0)
                elif number in before:  # left it: dominated only by a trial of rank 0
                    tags[number] = pareto_run_tags(False, 1)
                else:
                    tags[number] = pareto_run_tags(False)
        self.seen = {t.number for t in complete}
        by_number = {t.number: t for t in complete}
        for number in sorted(tags):
            run_id = by_number[number].user_attrs.get(ATTR_MLFLOW_RUN)
            if run_id:
                self.tracker.log(run_id, tags=tags[number])
        return set(self.front)

    def _add(self, trial: optuna.trial.FrozenTrial, directions: Any) -> None:
        assert self.front is not None
        if any(v > 0.0 for v in trial.constraints.values()):
            return  # infeasible: never on Optuna's front of a constrained study
        if any(dominates(f, trial, directions) for f in self.front.values()):
            return
        self.front = {n: f for n, f in self.front.items() if not dominates(trial, f, directions)}
        self.front[trial.number] = trial


def model_load(loaded: LoadedStudy, device: str) -> ModelLoad:
    """Where and in which dtype this process runs the study's trials, decided once; a device,
    dtype or train quantization this machine cannot run is a ``StudyFileError`` up front."""
    spec = loaded.spec
    try:
        resolved = resolve_device(device)
    except DeviceError as exc:
        raise StudyFileError(loaded.path, "(--device)", device, str(exc)) from None
    try:
        dtype = resolve_dtype(spec.model.dtype, resolved)
    except DeviceError as exc:
        raise StudyFileError(loaded.path, "model.dtype", spec.model.dtype, str(exc)) from None
    dim = spec.search_space.train_quantization
    values = (
        dim.choices if isinstance(dim, Choices) else [dim.value] if isinstance(dim, Fixed) else []
    )
    if "nf4" in values and not resolved.startswith("cuda"):
        raise StudyFileError(
            loaded.path,
            "search_space.train_quantization",
            "nf4",
            f"nf4 (QLoRA, bitsandbytes 4-bit) needs a CUDA device, but trials run on {resolved}; "
            "use none here",
        )
    return ModelLoad(
        device=resolved,
        dtype=dtype,
        revision=spec.model.revision,
        trust_remote_code=spec.model.trust_remote_code,
    )


def _record_baseline(loaded, study, ctx, tracker, parent_id, model_path, load) -> None:
    spec = loaded.spec
    hw = trial_hardware_price(spec, ctx)
    started = time.perf_counter()
    scores = objectives.evaluate_base_model(  # looked up per call (tests replace it)
        model_path,
        list(loaded.eval_tasks.values()),
        eval_limit=spec.eval.limit,
        batch_size=spec.eval.batch_size,
        device=load.device,
        dtype=spec.model.dtype,
    )
    wall = time.perf_counter() - started
    metrics = score_metrics(loaded.eval_tasks, scores)
    baseline = {
        "metrics": metrics,
        WALL_SECONDS: wall,
        COST_EUR_TRIAL: cost_eur_for_seconds(wall, hw.eur_per_hour),
    }
    study.set_user_attr(STUDY_ATTR_BASELINE, baseline)
    if tracker is not None and parent_id is not None:
        tracker.log(
            parent_id,
            metrics={baseline_metric(k): v for k, v in metrics.items()}
            | {BASELINE_COST_EUR: baseline[COST_EUR_TRIAL]},
        )


def _recording_interruption(
    objective: Callable[[optuna.Trial], tuple[float, ...]],
    tracker: Tracker | None,
    eur_per_hour: float,
) -> Callable[[optuna.Trial], tuple[float, ...]]:
    """``objective`` whose trial, when Ctrl-C or SIGTERM stops it, is recorded before Optuna
    marks it FAIL: fail reason ``INTERRUPTED``, its elapsed time charged (unless the objective
    recorded its cost), its MLflow run closed (FAILED). The budget guard, wrapped around this,
    settles the reservation at that cost."""

    def interruptible(trial: optuna.Trial) -> tuple[float, ...]:
        started = time.perf_counter()
        try:
            return objective(trial)
        except KeyboardInterrupt:
            metrics = trial.user_attrs.get(ATTR_METRICS) or {}
            if COST_EUR_TRIAL not in metrics:
                wall = time.perf_counter() - started
                cost_eur = cost_eur_for_seconds(wall, eur_per_hour)
                metrics = {WALL_SECONDS: wall, COST_EUR_TRIAL: cost_eur}
                write_outcome(trial, metrics=metrics)
            write_outcome(trial, fail_reason=INTERRUPTED)
            run_id = trial.user_attrs.get(ATTR_MLFLOW_RUN)
            if tracker is not None and run_id:
                try:
                    tracker.end_trial(run_id, "FAIL", metrics, {"sweeper.fail_reason": INTERRUPTED})
                except Exception as exc:  # never fatal: `sweeper sync` closes it later
                    log.warning("could not close trial %d's MLflow run: %s", trial.number, exc)
            raise

    return interruptible


def _log_parent_summary(
    tracker: Tracker,
    parent_id: str,
    study: optuna.Study,
    loaded: LoadedStudy,
    *,
    review: bool = True,
) -> None:
    states = trial_states(study)
    metrics: dict[str, float] = {trials_in_state_metric(k): float(v) for k, v in states.items()}
    metrics[SPENT_EUR_TOTAL] = spent_eur(study)
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    for name, direction in zip(loaded.objective_names, loaded.directions, strict=True):
        vals = [
            t.user_attrs[ATTR_METRICS][name]
            for t in complete
            if name in t.user_attrs.get(ATTR_METRICS, {})
        ]
        if vals:
            metrics[best_metric(name)] = max(vals) if direction == "maximize" else min(vals)
    tracker.log(
        parent_id,
        metrics=metrics,
        tags={
            "sweeper.pareto_trials": ",".join(
                str(t.number) for t in (study.best_trials if complete else [])
            )
        },
    )
    # Hypervolume, recommendations, every run's pareto_rank and the chart artifacts: at the end
    # of a sweep only (charts take seconds); never fatal.
    if review:
        log_review(tracker, parent_id, study)
