"""Running a sweep: Optuna asks, a LoRA trial trains and evaluates, costs are computed, MLflow logs.

Everything a finished trial measured is kept in the Optuna storage (trial user attributes) as well
as in MLflow, so results survive an unreachable tracking server and a crash resumes from storage.
"""

from __future__ import annotations

import json
import logging
import math
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import optuna

from sweeper.costing import (
    PricingContext,
    cost_eur_for_seconds,
    project_training,
    trial_hardware_price,
)
from sweeper.provenance import provenance_tags
from sweeper.search import lora_settings, suggest
from sweeper.storage import open_storage, open_study
from sweeper.study import LoadedStudy
from sweeper.tracking import Tracker, storage_id

log = logging.getLogger(__name__)

#: Trial user-attribute keys (the storage side of every trial's record).
ATTR_METRICS = "metrics"
ATTR_FAIL_REASON = "fail_reason"
ATTR_MLFLOW_RUN = "mlflow_run_id"
ATTR_PROJECTION = "projection"
STUDY_ATTR_BASELINE = "baseline"


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


def make_sampler(loaded: LoadedStudy, seed: int) -> optuna.samplers.BaseSampler:
    cfg = loaded.spec.sampler
    if cfg.name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if cfg.name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if cfg.name == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=cfg.n_startup_trials)
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=cfg.n_startup_trials, multivariate=True
    )


def spent_eur(study: optuna.Study) -> float:
    """EUR spent by every recorded trial of the study (failed and pruned ones too) plus its baseline."""
    total = sum(
        float(t.user_attrs.get(ATTR_METRICS, {}).get("cost_eur_trial", 0.0)) for t in study.trials
    )
    baseline = study.user_attrs.get(STUDY_ATTR_BASELINE) or {}
    return total + float(baseline.get("cost_eur_trial", 0.0))


def trial_states(study: optuna.Study) -> dict[str, int]:
    """How many trials the study has in each Optuna state (COMPLETE, FAIL, ...)."""
    return dict(Counter(t.state.name for t in study.trials))


class LoraObjective:
    """One trial: sample LoRA settings, train, evaluate, measure, price, log."""

    def __init__(
        self,
        loaded: LoadedStudy,
        ctx: PricingContext,
        tracker: Tracker | None,
        parent_run_id: str | None,
        model_path: str,
    ) -> None:
        self.loaded = loaded
        self.ctx = ctx
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.model_path = model_path
        self.hw = trial_hardware_price(loaded.spec, ctx)
        self.base_tags = provenance_tags(loaded.sha256, loaded.spec.seed, ctx.provenance())

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        spec = self.loaded.spec
        started = time.perf_counter()
        settings = lora_settings(suggest(trial, spec.search_space))
        projection = project_training(spec, settings, self.ctx)
        trial.set_user_attr(ATTR_PROJECTION, projection.as_dict())
        params = {
            **settings.as_params(),
            "max_steps": settings.epochs * spec.training.steps_per_epoch,
            "batch_size": spec.training.batch_size,
            "seq_len": spec.training.seq_len,
            "model": spec.model.path,
            "trial_hardware": self.hw.name,
            "trial_eur_per_hour": round(self.hw.eur_per_hour, 6),
            "target_instance": projection.target_instance,
            "target_pricing": projection.target_pricing,
            "target_eur_per_hour": round(projection.target_eur_per_hour, 6),
            "target_mfu": projection.mfu,
            "projection_params": projection.target_params,
            "projection_tokens": projection.target_tokens,
        }
        seed = spec.seed + trial.number
        run_id = self._start_run(trial.number, params, seed)
        if run_id is not None:
            trial.set_user_attr(ATTR_MLFLOW_RUN, run_id)
        try:
            metrics = self._train_and_evaluate(settings, seed)
        except Exception as exc:
            wall = time.perf_counter() - started
            reason = f"{type(exc).__name__}: {exc}"
            failed_metrics = {
                "wall_seconds": wall,
                "cost_eur_trial": cost_eur_for_seconds(wall, self.hw.eur_per_hour),
                **projection.metrics(),
            }
            trial.set_user_attr(ATTR_METRICS, failed_metrics)
            trial.set_user_attr(ATTR_FAIL_REASON, reason)
            self._end_run(
                run_id,
                "FAIL",
                failed_metrics,
                {
                    "sweeper.fail_reason": reason[:4000],
                    "sweeper.traceback": traceback.format_exc()[-4000:],
                },
            )
            raise
        wall = time.perf_counter() - started
        metrics.update(projection.metrics())
        metrics["wall_seconds"] = wall
        metrics["cost_eur_trial"] = cost_eur_for_seconds(wall, self.hw.eur_per_hour)
        trial.set_user_attr(ATTR_METRICS, metrics)
        self._end_run(run_id, "COMPLETE", metrics, {})
        return tuple(float(metrics[name]) for name in self.loaded.objective_names)

    def _train_and_evaluate(self, settings: Any, seed: int) -> dict[str, float]:
        import objectives
        from objectives import LoraTrainConfig, LoraTrialInputs

        spec = self.loaded.spec
        config = LoraTrainConfig(
            r=settings.r,
            alpha=settings.alpha,
            learning_rate=settings.learning_rate,
            target_modules=settings.target_modules,
            max_steps=settings.epochs * spec.training.steps_per_epoch,
            batch_size=spec.training.batch_size,
            seq_len=spec.training.seq_len,
            seed=seed,
            lora_dropout=settings.dropout,
            warmup_ratio=spec.training.warmup_ratio,
        )
        out = objectives.run_lora_trial(
            LoraTrialInputs(
                model=self.model_path,
                lora=config,
                train_file=self.loaded.train_file,
                tasks=tuple(spec.eval.tasks.values()),
                eval_limit=spec.eval.limit,
                eval_batch_size=spec.eval.batch_size,
            )
        )
        metrics = score_metrics(spec.eval.tasks, out.scores)
        metrics.update(
            {
                "train_seconds": out.train.train_seconds,
                "eval_seconds": out.eval_seconds,
                "tokens_trained": float(out.train.tokens_trained),
                "tokens_evaluated": float(out.tokens_evaluated),
                "peak_memory_bytes": float(out.peak_memory_bytes),
                "trainable_params": float(out.train.trainable_params),
                "load_seconds": float(out.load_seconds),
                "train_loss_final": float(out.train.final_loss),
            }
        )
        return metrics

    # --- MLflow, never fatal: results are in the Optuna storage either way ---------------------

    def _start_run(self, number: int, params: dict[str, Any], seed: int) -> str | None:
        if self.tracker is None or self.parent_run_id is None:
            return None
        tags = dict(self.base_tags)
        tags["sweeper.seed"] = str(seed)
        try:
            return self.tracker.start_trial(self.parent_run_id, number, params, tags)
        except Exception as exc:
            log.warning(
                "MLflow is unreachable (%s); trial %d is kept in the study storage only",
                exc,
                number,
            )
            return None

    def _end_run(
        self, run_id: str | None, state: str, metrics: dict[str, float], tags: dict[str, str]
    ) -> None:
        if self.tracker is None or run_id is None:
            return
        try:
            self.tracker.end_trial(run_id, state, metrics, tags)
        except Exception as exc:
            log.warning("MLflow is unreachable (%s); the trial stays in the study storage", exc)


def score_metrics(tasks: dict[str, str], scores: dict[str, Any]) -> dict[str, float]:
    """Flatten lm-eval scores: ``quality``, ``quality_stderr`` and ``quality_<sub-metric>``."""
    out: dict[str, float] = {}
    for metric, task in tasks.items():
        score = scores[task]
        out[metric] = float(score.value)
        stderr = float(score.stderr) if score.stderr is not None else math.nan
        out[f"{metric}_stderr"] = stderr
        for sub, value in (score.all_metrics or {}).items():
            if (
                sub != score.metric
                and isinstance(value, (int, float))
                and not sub.endswith("_stderr")
            ):
                out[f"{metric}_{sub}"] = float(value)
    return out


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
) -> SweepSummary:
    """Add ``n_trials`` trials to the study (creating or resuming it) and log them to MLflow."""
    from objectives import resolve_model_path
    from sweeper.budget_guard import BudgetGuard  # imports this module: import it late

    status = on_status or (lambda _msg: None)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(storage_url)
    study = open_study(loaded, storage)
    # A resumed run must not replay the same random draws: offset the seed by the trials so far.
    study.sampler = make_sampler(loaded, loaded.spec.seed + len(study.trials))
    study.set_user_attr("study_file", str(loaded.path))
    study.set_user_attr("study_sha256", loaded.sha256)
    study.set_user_attr(
        "objectives", dict(zip(loaded.objective_names, loaded.directions, strict=True))
    )

    ctx = PricingContext.load()
    tracker = parent_id = None
    if tracking_uri is not None:
        status(f"MLflow: {tracking_uri}")
        tracker = Tracker(tracking_uri, loaded.name, artifact_root)
        parent_id = tracker.parent_run(
            loaded.name,
            storage_id(storage_url),
            params={
                "study_file": str(loaded.path),
                "objectives": json.dumps(study.user_attrs["objectives"]),
                "search_space": loaded.spec.search_space.model_dump_json()[:6000],
            },
            tags=provenance_tags(loaded.sha256, loaded.spec.seed, ctx.provenance()),
        )
    budget = BudgetGuard.open(
        loaded,
        study,
        storage_url,
        eur_per_hour=trial_hardware_price(loaded.spec, ctx).eur_per_hour,
        on_status=status,
        tracker=tracker,
        parent_run_id=parent_id,
    )
    status("preparing the model (first run converts the bundled GGUF once)")
    model_path = resolve_model_path(loaded.spec.model.path)

    if baseline and STUDY_ATTR_BASELINE not in study.user_attrs:
        status("evaluating the base model (once per study)")
        evaluate = partial(_record_baseline, loaded, study, ctx, tracker, parent_id, model_path)
        if not budget.run_baseline(study, evaluate):
            status("budget: the base-model evaluation does not fit in what remains; skipped")

    objective = LoraObjective(loaded, ctx, tracker, parent_id, model_path)
    objective = budget.wrap(objective)  # reserve before each trial, settle after (budget_guard)
    reports: list[TrialReport] = []
    tagged_front: set[int] | None = None  # None: no Pareto tags written in this process yet

    def after_trial(st: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        nonlocal tagged_front
        metrics = frozen.user_attrs.get(ATTR_METRICS, {})
        values = {n: float(metrics[n]) for n in loaded.objective_names if n in metrics}
        report = TrialReport(
            number=frozen.number,
            state=frozen.state.name,
            values=values,
            cost_eur_trial=float(metrics.get("cost_eur_trial", 0.0)),
            spent_eur_total=spent_eur(st),
            fail_reason=frozen.user_attrs.get(ATTR_FAIL_REASON),
        )
        reports.append(report)
        if tracker is not None and parent_id is not None:
            try:
                tracker.log(
                    parent_id,
                    metrics={"spent_eur_total": report.spent_eur_total},
                    step=frozen.number,
                )
                tagged_front = _tag_pareto_front(tracker, st, tagged_front)
            except Exception as exc:  # never fatal
                log.warning("could not log spend to MLflow: %s", exc)
        if on_trial is not None:
            on_trial(report, st)

    status(f"running {n_trials} trial(s)")
    try:
        study.optimize(objective, n_trials=n_trials, catch=(Exception,), callbacks=[after_trial])
    finally:
        if tracker is not None and parent_id is not None:
            try:
                _log_parent_summary(tracker, parent_id, study, loaded)
                tracker.end_parent(parent_id)
            except Exception as exc:
                log.warning("could not finish the MLflow parent run: %s", exc)
    states = trial_states(study)
    return SweepSummary(
        study_name=loaded.name,
        trials_run=len(reports),
        states=states,
        spent_eur_total=spent_eur(study),
        best_trials=[t.number for t in study.best_trials] if states.get("COMPLETE") else [],
        parent_run_id=parent_id,
        reports=reports,
    )


def _tag_pareto_front(
    tracker: Tracker, study: optuna.Study, previous: set[int] | None
) -> set[int] | None:
    """Tag child runs ``pareto=true`` for Optuna's current best trials and ``false`` for the others.

    The first call in a process writes every completed trial's tag (a resumed study may have
    changed); later calls write only the runs whose membership changed, plus the newest trial.
    """
    complete = {t.number: t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    if not complete:
        return previous
    front = {t.number for t in study.best_trials}
    newest = max(complete)
    changed = set(complete) if previous is None else (front ^ previous) | {newest}
    for number in sorted(changed):
        run_id = complete[number].user_attrs.get(ATTR_MLFLOW_RUN) if number in complete else None
        if run_id:
            tracker.log(run_id, tags={"pareto": "true" if number in front else "false"})
    return front


def _record_baseline(loaded, study, ctx, tracker, parent_id, model_path) -> None:
    from objectives import evaluate_base_model

    spec = loaded.spec
    hw = trial_hardware_price(spec, ctx)
    started = time.perf_counter()
    scores = evaluate_base_model(
        model_path,
        list(spec.eval.tasks.values()),
        eval_limit=spec.eval.limit,
        batch_size=spec.eval.batch_size,
    )
    wall = time.perf_counter() - started
    metrics = score_metrics(spec.eval.tasks, scores)
    baseline = {
        "metrics": metrics,
        "wall_seconds": wall,
        "cost_eur_trial": cost_eur_for_seconds(wall, hw.eur_per_hour),
    }
    study.set_user_attr(STUDY_ATTR_BASELINE, baseline)
    if tracker is not None and parent_id is not None:
        tracker.log(
            parent_id,
            metrics={f"baseline_{k}": v for k, v in metrics.items()}
            | {"baseline_cost_eur": baseline["cost_eur_trial"]},
        )


def _log_parent_summary(
    tracker: Tracker, parent_id: str, study: optuna.Study, loaded: LoadedStudy
) -> None:
    states = trial_states(study)
    metrics: dict[str, float] = {f"trials_{k.lower()}": float(v) for k, v in states.items()}
    metrics["spent_eur_total"] = spent_eur(study)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    for name, direction in zip(loaded.objective_names, loaded.directions, strict=True):
        vals = [
            t.user_attrs[ATTR_METRICS][name]
            for t in complete
            if name in t.user_attrs.get(ATTR_METRICS, {})
        ]
        if vals:
            metrics[f"best_{name}"] = max(vals) if direction == "maximize" else min(vals)
    tracker.log(
        parent_id,
        metrics=metrics,
        tags={
            "sweeper.pareto_trials": ",".join(
                str(t.number) for t in (study.best_trials if complete else [])
            )
        },
    )
