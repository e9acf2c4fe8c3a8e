"""Turning what a study names into an ``EvalTask``, or one error that says what is valid.

Three forms: a task (or group) lm-eval resolves -- bundled, from the study's ``include_path``
folders, or from lm-eval's own catalogue -- and a JSONL file with a scorer. Everything is read
from the task configs in lm-eval's index (metric lists, dataset names); no task is built and no
dataset loaded, except the check that a hub dataset is in the local cache when offline.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from objectives.errors import EvalTaskError
from objectives.eval_tasks._jsonl import load_jsonl_task
from objectives.eval_tasks._manager import task_manager
from objectives.eval_tasks._task import EvalTask, TaskOptions
from objectives.eval_tasks.scorers import make_scorer
from objectives.registry import TASKS, get_task

#: ``datasets`` builders that read local files (never the hub).
LOCAL_BUILDERS = frozenset({"json", "csv", "parquet", "text", "arrow", "pandas"})


def bundled_task(name: str) -> EvalTask:
    """A bundled task at its defaults (``UnknownTaskError`` lists the bundled names)."""
    return EvalTask(name=name, metric=get_task(name).metric)


#: Every option at its default.
DEFAULT_OPTIONS = TaskOptions()


def named_task(
    name: str, options: TaskOptions = DEFAULT_OPTIONS, include_paths: Sequence[str] = ()
) -> EvalTask:
    """The task or group ``name`` as lm-eval resolves it over the bundled tasks,
    ``include_paths`` and, failing those, lm-eval's own catalogue."""
    include_paths = tuple(str(p) for p in include_paths)
    index = task_manager(include_paths).task_index
    needs_registry = name not in index
    if needs_registry:
        index = task_manager(include_paths, with_registry=True).task_index
    entry = index.get(name)
    if entry is None:
        raise EvalTaskError("task", name, _unknown_task_hint(name, index, include_paths))
    if entry.kind.name == "TAG":
        members = sorted(e.name for e in index.values() if name in e.tags)
        raise EvalTaskError(
            "task",
            name,
            f"{name!r} is a tag of {len(members)} tasks, which report separately; name one task "
            f"or a group, e.g. {', '.join(members[:3])}",
        )
    metrics = task_metrics(index, entry)
    default = TASKS[name].metric if name in TASKS else None
    metric = _choose_metric(name, options.metric, metrics, default)
    missing = _missing_dataset(index, entry)
    if missing is not None:
        raise EvalTaskError("task", name, _offline_hint(name, *missing))
    from_folder = not needs_registry and name not in TASKS and entry.yaml_path is not None
    return EvalTask(
        name=name,
        metric=metric,
        metrics=metrics,
        options=_drop_default_metric(options, metric, metrics, default),
        include_paths=include_paths if from_folder else (),
        needs_registry=needs_registry,
        source_sha256=_sha256(entry.yaml_path) if from_folder else "",
    )


def jsonl_task(
    path: Path,
    scorer: str,
    fields: Mapping[str, str] | None = None,
    pattern: str | None = None,
    options: TaskOptions = DEFAULT_OPTIONS,
) -> EvalTask:
    """A task over a JSONL eval file scored by a built-in scorer (read and checked now)."""
    try:
        made = make_scorer(scorer, pattern=pattern)
    except KeyError as exc:
        raise EvalTaskError("scorer", scorer, str(exc)) from None
    except ValueError as exc:
        raise EvalTaskError("pattern", pattern, str(exc)) from None
    task = load_jsonl_task(Path(path), made, fields or {})
    metrics = made.metrics
    metric = _choose_metric(task.task_name, options.metric, metrics, metrics[0])
    return EvalTask(
        name=task.task_name,
        metric=metric,
        metrics=metrics,
        options=_drop_default_metric(options, metric, metrics, metrics[0]),
        jsonl=task,
    )


def task_metrics(index: Mapping[str, Any], entry: Any) -> tuple[str, ...]:
    """The metrics a task or group reports, from its config (empty when not declared there)."""
    from lm_eval.api.registry import DEFAULT_METRIC_REGISTRY

    cfg = entry.cfg or {}
    if entry.kind.name == "GROUP":
        declared = cfg.get("aggregate_metric_list") or []
    else:
        declared = cfg.get("metric_list") or DEFAULT_METRIC_REGISTRY.get(
            cfg.get("output_type", "generate_until"), []
        )
    if isinstance(declared, dict):
        declared = [declared]
    return tuple(str(m["metric"]) if isinstance(m, dict) else str(m) for m in declared)


def _choose_metric(
    task: str, asked: str | None, metrics: Sequence[str], default: str | None
) -> str:
    if asked is not None:
        if metrics and asked not in metrics:
            close = difflib.get_close_matches(asked, metrics, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise EvalTaskError(
                "metric", asked, f"{hint}task {task!r} reports: {', '.join(metrics)}"
            )
        return asked
    if default is not None:
        return default
    if not metrics:
        raise EvalTaskError(
            "metric", None, f"task {task!r} declares no metric list; name its objective `metric`"
        )
    return metrics[0]


def _drop_default_metric(
    options: TaskOptions, metric: str, metrics: Sequence[str], default: str | None
) -> TaskOptions:
    """Asking for the metric the task would use anyway changes nothing (nor any cache key)."""
    first = default if default is not None else (metrics[0] if metrics else None)
    return replace(options, metric=None) if metric == first else options


def _unknown_task_hint(name: str, index: Mapping[str, Any], include_paths: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(index), n=3)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    folders = f", the tasks in {', '.join(include_paths)}" if include_paths else ""
    return (
        f"no lm-eval task or group of that name; {hint}available: the bundled tasks "
        f"({', '.join(TASKS)}){folders}, and lm-eval's {len(index)} registered names"
    )


# --- offline: a hub dataset must already be in the local cache ----------------------------------


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")
    )


def _missing_dataset(index: Mapping[str, Any], entry: Any) -> tuple[str, str | None] | None:
    """The first hub dataset the task needs that cannot be loaded offline, or None."""
    if not _offline():
        return None  # lm-eval downloads what it needs
    for path, name in _leaf_datasets(index, entry, depth=0):
        if not _dataset_available(path, name):
            return path, name
    return None


def _leaf_datasets(index: Mapping[str, Any], entry: Any, depth: int) -> Iterator[tuple[str, Any]]:
    cfg = entry.cfg or {}
    if depth > 8:
        return
    if entry.kind.name == "GROUP":
        for child in cfg.get("task", []) or []:
            if isinstance(child, dict):
                if child.get("dataset_path"):
                    yield child["dataset_path"], child.get("dataset_name")
                child = child.get("task")
            if isinstance(child, str) and child in index:
                yield from _leaf_datasets(index, index[child], depth + 1)
    elif entry.kind.name == "TAG":
        for member in (e for e in index.values() if entry.name in e.tags):
            yield from _leaf_datasets(index, member, depth + 1)
    elif cfg.get("dataset_path") and not cfg.get("custom_dataset"):
        yield cfg["dataset_path"], cfg.get("dataset_name")


def _dataset_available(path: str, name: str | None) -> bool:
    if path in LOCAL_BUILDERS or Path(path).exists():
        return True
    try:
        import datasets

        datasets.load_dataset_builder(path, name)
    except Exception:  # any failure means lm-eval could not load it either
        return False
    return True


def _offline_hint(task: str, path: str, name: str | None) -> str:
    subset = f" (subset {name!r})" if name else ""
    return (
        f"task {task!r} needs the dataset {path!r}{subset} from the Hugging Face hub, which is "
        "not reachable (offline: HF_DATASETS_OFFLINE/HF_HUB_OFFLINE is set) and not in the local "
        "cache; run once on a connected machine to cache it, or evaluate on your own data "
        "(eval.include_path, or a JSONL file with a scorer)"
    )


def _sha256(path: Path | None) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else ""
