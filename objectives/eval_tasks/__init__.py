"""Evaluation tasks a study can name, in three forms, each run by lm-eval.

* a task or group name lm-eval resolves: the bundled tasks (``objectives/tasks/``), tasks in a
  study's own folders (``eval.include_path``), and lm-eval's own catalogue;
* a JSONL eval file with a built-in scorer (``scorers/``), turned into an inline lm-eval task.

``named_task`` and ``jsonl_task`` check everything when the study is loaded and return an
``EvalTask``; ``task_manager`` gives the (cached) lm-eval ``TaskManager`` that runs it.
"""

from objectives.eval_tasks._jsonl import FIELD_ROLES, JsonlTask, load_jsonl_task
from objectives.eval_tasks._manager import task_manager
from objectives.eval_tasks._resolve import bundled_task, jsonl_task, named_task, task_metrics
from objectives.eval_tasks._task import EvalTask, TaskOptions
from objectives.eval_tasks.scorers import SCORERS, Scorer, make_scorer

__all__ = [
    "FIELD_ROLES",
    "SCORERS",
    "EvalTask",
    "JsonlTask",
    "Scorer",
    "TaskOptions",
    "bundled_task",
    "jsonl_task",
    "load_jsonl_task",
    "make_scorer",
    "named_task",
    "task_manager",
    "task_metrics",
]
