"""lm-eval ``TaskManager``s, built once per process per set of task folders.

Indexing lm-eval's own catalogue (about 14,700 task, group and tag names) takes 10-20 s, so the
manager over the bundled folder (plus a study's ``eval.include_path`` folders) skips it, and the
one that includes it is built only when a study names a task none of its folders has.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from objectives.registry import TASK_DIR


@functools.cache
def _manager(include_paths: tuple[str, ...], with_registry: bool) -> Any:
    from lm_eval.tasks import TaskManager

    logging.getLogger("lm_eval.api.task").addFilter(_drop_custom_dataset_hint)
    return TaskManager(include_path=[str(TASK_DIR), *include_paths], include_defaults=with_registry)


def task_manager(include_paths: Sequence[str] = (), *, with_registry: bool = False) -> Any:
    """The process-wide ``TaskManager`` over the bundled tasks, ``include_paths`` and (with
    ``with_registry``) lm-eval's own catalogue. Cached: the same arguments give the same one."""
    return _manager(tuple(str(p) for p in include_paths), with_registry)


def _drop_custom_dataset_hint(record: logging.LogRecord) -> bool:
    """Silence lm-eval's per-task hint about ``--metadata``, logged for every task that
    loads its data through ``custom_dataset`` (all of ours); it suggests nothing useful here."""
    return "Custom kwargs can be passed to `--metadata`" not in record.getMessage()
