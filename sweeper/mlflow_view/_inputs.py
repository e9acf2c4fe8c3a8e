"""Who ran a study on what: the study file and its data as MLflow dataset inputs (MLflow edge).

The run page's Datasets section lists each dataset with its digest and source; every trial run
gets the same inputs as its parent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sweeper.study import LoadedStudy

log = logging.getLogger(__name__)


def study_datasets(loaded: LoadedStudy) -> dict[str, tuple[Path, str]]:
    """The study's training data and the data files of its eval tasks, as MLflow datasets: a
    JSONL + scorer task's own file, a bundled task's JSONL; a task from an lm-eval folder or
    lm-eval's registry names no single file here, and is left out."""
    from objectives.task_data import DATA_DIR

    out = {f"train:{loaded.train_file.stem}": (loaded.train_file, "training")}
    for metric, task in loaded.eval_tasks.items():
        if task.jsonl is not None:
            path, name = Path(task.jsonl.path), f"eval:{metric}:{Path(task.jsonl.path).name}"
        else:  # the bundled tasks read objectives/data/<task without "sweeper_">_eval.jsonl
            path = DATA_DIR / f"{task.name.removeprefix('sweeper_')}_eval.jsonl"
            name = f"eval:{task.name}"
        if path.is_file():
            out[name] = (path, "evaluation")
    return out


def log_study_inputs_quietly(tracker: Any, parent_run_id: str, loaded: LoadedStudy) -> None:
    """Study file and datasets on the parent run (and datasets on each trial run); never fatal."""
    try:
        tracker.log_study_inputs(parent_run_id, loaded.path, study_datasets(loaded))
    except Exception as exc:
        log.warning("could not log the study file and datasets to MLflow: %s", exc)
