"""The task registry and the lm-eval task folders it points to."""

from __future__ import annotations

import pytest

from objectives import TASKS, UnknownTaskError, get_task
from objectives.evaluate import task_manager
from objectives.registry import TASK_DIR


def test_unknown_task_lists_the_available_ones() -> None:
    with pytest.raises(
        UnknownTaskError, match="Unknown task 'mmlu'. Available: sweeper_json_extract"
    ):
        get_task("mmlu")


def test_every_task_has_a_yaml_folder() -> None:
    for name in TASKS:
        assert (TASK_DIR / name / f"{name}.yaml").is_file()


def test_task_manager_indexes_exactly_our_tasks_and_is_cached() -> None:
    manager = task_manager()
    assert set(TASKS) <= set(manager.all_subtasks)
    assert "hellaswag" not in manager.all_tasks  # lm-eval's catalogue is not indexed
    assert task_manager() is manager
