"""The evaluation tasks this package ships: names, headline metrics, data files.

Each entry matches an lm-eval task folder under ``objectives/tasks/``. A study file
names tasks by these keys (or any other task, see ``objectives.eval_tasks``); the headline
metric declared here is the objective value unless the study names another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from objectives.errors import UnknownTaskError

TASK_DIR = Path(__file__).resolve().parent / "tasks"
"""lm-eval include path holding one folder (YAML + utils.py) per task."""


@dataclass(frozen=True)
class TaskSpec:
    """One evaluation task.

    ``metric`` is the headline metric (higher is better, in [0, 1]) as lm-eval names
    it without the filter suffix. ``train_file`` is the bundled training data for
    the same skill, or None for a task that only measures retention.
    """

    name: str
    metric: str
    description: str
    eval_file: str
    train_file: str | None = None


def _registry(*specs: TaskSpec) -> Mapping[str, TaskSpec]:
    table: dict[str, TaskSpec] = {}
    for spec in specs:
        if spec.name in table:
            raise ValueError(f"Task {spec.name!r} is registered twice.")
        table[spec.name] = spec
    return MappingProxyType(table)


TASKS: Mapping[str, TaskSpec] = _registry(
    TaskSpec(
        name="sweeper_json_extract",
        metric="field_accuracy",
        description="order sentence -> JSON {name, city, item, quantity}; generative, greedy",
        eval_file="json_extract_eval.jsonl",
        train_file="json_extract_train.jsonl",
    ),
    TaskSpec(
        name="sweeper_general",
        metric="acc",
        description="general-knowledge multiple choice (retention check); log-likelihood",
        eval_file="general_eval.jsonl",
    ),
    TaskSpec(
        name="sweeper_date_iso",
        metric="part_accuracy",
        description="sentence with a written date -> YYYY-MM-DD; generative, greedy",
        eval_file="date_iso_eval.jsonl",
        train_file="date_iso_train.jsonl",
    ),
)
"""Every shipped task by name."""


def get_task(name: str) -> TaskSpec:
    """The task called ``name``; raises ``UnknownTaskError`` listing the available names."""
    try:
        return TASKS[name]
    except KeyError:
        raise UnknownTaskError(f"Unknown task {name!r}. Available: {', '.join(TASKS)}") from None


def trainable_tasks() -> list[str]:
    """Names of the tasks that ship training data."""
    return [name for name, spec in TASKS.items() if spec.train_file is not None]
