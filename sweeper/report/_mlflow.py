"""The review in MLflow: parent-run metrics, Pareto ranks on trial runs, chart artifacts.

Called at the end of a sweep (never per trial: charts take seconds) and by ``sweeper report``.
Nothing here is fatal: MLflow being down leaves the study storage, from which it can be redone.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from sweeper.report._analysis import ParetoAnalysis
from sweeper.report._charts import chart_files
from sweeper.report._study import analyze_study

log = logging.getLogger(__name__)

#: MLflow's UI colours each run by its ``mlflow.runColor`` tag (a CSS colour) in every chart and
#: browser: Pareto-optimal trials in one strong colour, the others grey.
RUN_COLOR_TAG = "mlflow.runColor"
PARETO_COLOR = "#d6336c"
DOMINATED_COLOR = "#adb5bd"

#: Artifact folders on the parent run.
REVIEW_ARTIFACT_DIR = "pareto"
REPORT_ARTIFACT_DIR = "report"


def log_review(tracker: Any, parent_run_id: str, study: Any, *, charts: bool = True) -> bool:
    """Log the review to the parent run and every trial run's ``pareto_rank``; True when all of
    it was written."""
    try:
        analysis = analyze_study(study)
        tracker.log(parent_run_id, metrics=analysis.parent_metrics(), tags=review_tags(analysis))
        _sync_rank_tags(tracker, parent_run_id, analysis)
        if charts:
            with tempfile.TemporaryDirectory() as tmp:
                for name, data in chart_files(
                    analysis, f"{study.study_name}: Pareto review"
                ).items():
                    (Path(tmp) / name).write_bytes(data)
                tracker.client.log_artifacts(parent_run_id, tmp, REVIEW_ARTIFACT_DIR)
        return True
    except Exception as exc:  # the study storage keeps everything; `sweeper report` redoes it
        log.warning("could not log the Pareto review to MLflow: %s", exc)
        return False


def review_tags(analysis: ParetoAnalysis) -> dict[str, str]:
    tags = {
        "sweeper.pareto_trials": ",".join(str(r.number) for r in analysis.front),
        "sweeper.hypervolume_reference": json.dumps(
            analysis.box.in_units(analysis.objectives) if analysis.box else None
        ),
    }
    if analysis.recommended is not None:
        tags["sweeper.recommended_trial"] = str(analysis.recommended.record.number)
    return tags


def pareto_run_tags(on_front: bool, rank: int | None = None) -> dict[str, str]:
    """A trial run's review tags: ``pareto``, its colour, and ``pareto_rank`` when known."""
    tags = {
        "pareto": "true" if on_front else "false",
        RUN_COLOR_TAG: PARETO_COLOR if on_front else DOMINATED_COLOR,
    }
    if rank is not None:
        tags["pareto_rank"] = str(rank)
    return tags


def _sync_rank_tags(tracker: Any, parent_run_id: str, analysis: ParetoAnalysis) -> None:
    """Write ``pareto``/``pareto_rank`` (and the run colour) where a trial run's tags differ
    from the analysis (the per-trial pass writes only the runs whose front membership changed)."""
    front = {r.number for r in analysis.front}
    runs = tracker.trial_runs(parent_run_id)
    for number, rank in analysis.ranks.items():
        want = pareto_run_tags(number in front, rank)
        for run in runs.get(number, []):
            have = {k: run.data.tags.get(k) for k in want}
            if have != want:
                tracker.log(run.info.run_id, tags=want)


def find_parent_run(client: Any, study_name: str, storage_key: str) -> str | None:
    """The study's parent run id in this tracking store (the oldest active one), or None."""
    exp = client.get_experiment_by_name(study_name)
    if exp is None:
        return None
    found = client.search_runs(
        [exp.experiment_id],
        filter_string=(
            "tags.`sweeper.role` = 'parent' and "
            f"tags.`sweeper.study_name` = '{study_name}' and "
            f"tags.`sweeper.storage_id` = '{storage_key}'"
        ),
        max_results=1,
        order_by=["attributes.start_time ASC"],
    )
    return found[0].info.run_id if found else None


def log_report(client: Any, run_id: str, path: Path) -> None:
    client.log_artifact(run_id, str(path), REPORT_ARTIFACT_DIR)
