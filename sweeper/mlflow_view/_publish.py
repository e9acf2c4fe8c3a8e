"""Keeping a study's Pareto review current in MLflow while it runs (the MLflow edge).

After each trial: the parent run's step metrics (``hypervolume``, ``pareto_size`` at step =
trials so far; the runner logs ``spent_eur_total``) and its description; the saved "Pareto"
view at the first trial, and again whenever the trial runs gained metrics (so MLflow adds no
generated chart to the view). Every ``image_every`` trials, and at the end of the sweep, the
Pareto-front and hypervolume-vs-€ charts as logged images (``log_image(key=..., step=...)``: the
run page shows them with a step slider).

Rendering the two charts takes 1-2 s on a busy 2-core machine, the rest about 0.1 s
(benchmarks/bench_overhead.py): hence images every ``IMAGE_EVERY`` trials by default, and at
most once a minute per process, a few seconds next to trials that train for minutes. (Three
workers sharing a study of 60 tiny trials on 2 busy cores: 286 s with charts every 5th trial,
83 s with the once-a-minute limit.)

Never fatal: a failure is logged and the next trial tries again.
"""

from __future__ import annotations

import io
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import mlflow

from sweeper.mlflow_view._description import DESCRIPTION_TAG, StudySummary, parent_description
from sweeper.mlflow_view._link import ViewLink, view_key, view_link, views_supported
from sweeper.mlflow_view._state import (
    VIEW_NAME,
    VIEW_TAG_PREFIX,
    ParetoViewSpec,
    ViewObjective,
    decode_view,
    encode_view,
    pareto_view_state,
    trial_filter,
)
from sweeper.report import ParetoAnalysis, analyze_study, hypervolume_png, pareto_png
from sweeper.trial_record import STUDY_ATTR_VIEW

log = logging.getLogger(__name__)

IMAGE_EVERY_ENV = "SWEEPER_MLFLOW_IMAGE_EVERY"
IMAGE_EVERY = 5
#: ... and at most one chart pair per this many seconds per process (fast trials, many workers).
IMAGE_MIN_INTERVAL_S = 60.0
#: Image keys on the parent run.
PARETO_IMAGE_KEY = "pareto_front"
HYPERVOLUME_IMAGE_KEY = "hypervolume_vs_eur"
#: The recipe's parameters shown as columns, where the study searches them.
KEY_PARAMS = (
    "lora_r",
    "learning_rate",
    "target_modules",
    "epochs",
    "merge_method",
    "merge_weight",
    "quantization",
)


def view_spec(analysis: ParetoAnalysis, study_name: str, searched: set[str]) -> ParetoViewSpec:
    return ParetoViewSpec(
        objectives=tuple(ViewObjective(o.name, o.direction) for o in analysis.objectives),
        quality=analysis.quality,
        key_params=tuple(p for p in KEY_PARAMS if p in searched),
        study_name=study_name,
    )


def study_summary(analysis: ParetoAnalysis, study_name: str, trials_total: int) -> StudySummary:
    rec = analysis.recommended
    return StudySummary(
        study_name=study_name,
        trials_complete=analysis.states.get("COMPLETE", 0),
        trials_total=trials_total,
        spent_eur_total=analysis.spent_eur_total,
        quality=analysis.quality,
        best_quality=analysis.best_quality,
        front_trials=tuple(r.number for r in analysis.front),
        recommended_trial=None if rec is None else rec.record.number,
        recommended_why=None if rec is None else rec.title,
    )


def stored_view_link(study: Any) -> ViewLink | None:
    """The view link a sweep recorded on the study (None before the first logged trial)."""
    data = study.user_attrs.get(STUDY_ATTR_VIEW)
    if not data:
        return None
    return ViewLink(data["url"], data.get("how"), data.get("fallback_reason"))


@dataclass
class PublishTimes:
    """Seconds the last ``after_trial`` spent on each part (benchmarks/bench_overhead.py)."""

    analysis_s: float = 0.0
    view_s: float = 0.0
    images_s: float = 0.0
    logging_s: float = 0.0


class ParetoPublisher:
    """Writes the live review of one study to its MLflow parent run and experiment."""

    def __init__(self, tracker: Any, parent_run_id: str, storage_key: str) -> None:
        self.tracker = tracker
        self.client = tracker.client
        self.parent_run_id = parent_run_id
        self.storage_key = storage_key
        self.image_every = max(1, int(os.environ.get(IMAGE_EVERY_ENV) or IMAGE_EVERY))
        self._images_step: int | None = None
        self._images_at = -IMAGE_MIN_INTERVAL_S
        self._metric_keys: frozenset[str] | None = None
        self.link: ViewLink | None = None
        self.times = PublishTimes()

    def after_trial(self, study: Any) -> None:
        try:
            self._publish(study, final=False)
        except Exception as exc:  # the study storage keeps everything; the next trial retries
            log.warning("could not update the Pareto review in MLflow: %s", exc)

    def finish(self, study: Any) -> None:
        """At the end of a sweep: everything, with the charts at the last step."""
        try:
            self._publish(study, final=True)
        except Exception as exc:
            log.warning("could not update the Pareto review in MLflow: %s", exc)

    def _publish(self, study: Any, *, final: bool) -> None:
        started = time.perf_counter()
        analysis = analyze_study(study)
        trials_so_far = len(analysis.records)
        self.times.analysis_s = time.perf_counter() - started

        started = time.perf_counter()
        self._write_view(study, analysis)
        self.times.view_s = time.perf_counter() - started

        started = time.perf_counter()
        self.tracker.log(
            self.parent_run_id,
            # (``spent_eur_total`` is the runner's, per trial.)
            metrics={
                "hypervolume": analysis.hypervolume,
                "pareto_size": float(len(analysis.front)),
            },
            tags=self._description_tag(study, analysis),
            step=trials_so_far,
        )
        self.times.logging_s = time.perf_counter() - started

        started = time.perf_counter()
        due = final or (
            trials_so_far % self.image_every == 0
            and time.monotonic() - self._images_at >= IMAGE_MIN_INTERVAL_S
        )
        if due and analysis.front and self._images_step != trials_so_far:
            self.log_images(analysis, trials_so_far)
            self._images_step, self._images_at = trials_so_far, time.monotonic()
        self.times.images_s = time.perf_counter() - started

    def log_images(self, analysis: ParetoAnalysis, step: int) -> None:
        from PIL import Image

        charts = ((PARETO_IMAGE_KEY, pareto_png), (HYPERVOLUME_IMAGE_KEY, hypervolume_png))
        for key, render in charts:
            image = Image.open(io.BytesIO(render(analysis)))
            image.load()
            self.client.log_image(self.parent_run_id, image, key=key, step=step)

    def _description_tag(self, study: Any, analysis: ParetoAnalysis) -> dict[str, str]:
        if self.link is None:
            return {}
        summary = study_summary(analysis, study.study_name, len(study.get_trials(deepcopy=False)))
        return {DESCRIPTION_TAG: parent_description(summary, self.link.url, self.link.how)}

    def _write_view(self, study: Any, analysis: ParetoAnalysis) -> None:
        names = frozenset(k for r in analysis.records for k in r.metrics)
        if self._metric_keys is not None and names <= self._metric_keys:
            return
        experiment_id = self.tracker.experiment_id
        key = view_key(study.study_name, self.storage_key)
        supported = views_supported(mlflow.__version__)
        if supported:
            metric_keys = self._trial_metric_keys(study.study_name) | names
            searched = {p for r in analysis.records for p in r.params}
            state = pareto_view_state(view_spec(analysis, study.study_name, searched), metric_keys)
            write_view(self.client, experiment_id, key, state)
            self._metric_keys = frozenset(metric_keys)
        else:
            self._metric_keys = names
        self.link = view_link(
            self.tracker.tracking_uri, experiment_id, key if supported else None, mlflow.__version__
        )
        link = self.link
        study.set_user_attr(
            STUDY_ATTR_VIEW,
            {"url": link.url, "how": link.how, "fallback_reason": link.fallback_reason},
        )

    def _trial_metric_keys(self, study_name: str) -> set[str]:
        runs = self.client.search_runs(
            [self.tracker.experiment_id], filter_string=trial_filter(study_name), max_results=1000
        )
        return {k for run in runs for k in run.data.metrics}


def write_view(client: Any, experiment_id: str, key: str, state: dict[str, Any]) -> None:
    """Create or replace the saved view ``key`` (its creation time is kept)."""
    tag = VIEW_TAG_PREFIX + key
    now_ms = int(time.time() * 1000)
    created_ms = now_ms
    existing = client.get_experiment(experiment_id).tags.get(tag)
    if existing:
        try:
            created_ms = decode_view(existing).created_ms or now_ms
        except ValueError:
            pass
    client.set_experiment_tag(experiment_id, tag, encode_view(VIEW_NAME, state, created_ms, now_ms))
