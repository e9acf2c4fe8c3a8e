"""Two depths of loading: every command validates the file cheaply; only the commands that train
or quote (``check_workload=True``) resolve the eval tasks and check the model's modules now."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sweeper.errors import StudyFileError
from sweeper.study import load_study
from tests.conftest import REPO, demo_study_data, write_study


def study_with(tmp_path: Path, model_dir: Path, **changes) -> Path:
    data = copy.deepcopy(demo_study_data())
    data["name"] = "lazy"
    data["model"] = {"path": str(model_dir)}
    (tmp_path / "eval.jsonl").write_text(json.dumps({"prompt": "2+2?", "target": "4"}) + "\n")
    data["eval"]["tasks"] = {"quality": {"file": "eval.jsonl", "scorer": "exact_match"}}
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return write_study(tmp_path / "study.yaml", data)


def test_a_cheap_load_imports_neither_lm_eval_nor_transformers() -> None:
    """`sweeper show`/`report`/`reprice`/`sync`/`export` load this way."""
    script = (
        "import sys\n"
        "from sweeper.study import load_study\n"
        "load_study('demo')\n"
        "heavy = [m for m in ('lm_eval', 'transformers', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def test_eval_tasks_resolve_when_first_read_with_the_same_error(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    path = study_with(tmp_path, tiny_model_dir, eval__tasks__quality__scorer="exactmatch")
    loaded = load_study(path)  # cheap: the scorer is not looked up yet
    with pytest.raises(StudyFileError) as lazy:
        loaded.eval_tasks  # noqa: B018
    with pytest.raises(StudyFileError) as eager:
        load_study(path, check_workload=True)
    assert str(lazy.value) == str(eager.value)
    assert lazy.value.field == "eval.tasks.quality.scorer"
    assert "Available: exact_match, contains" in str(lazy.value)


def test_eval_tasks_resolved_at_load_are_kept(tmp_path: Path, tiny_model_dir: Path) -> None:
    eager = load_study(study_with(tmp_path, tiny_model_dir), check_workload=True)
    lazy = load_study(study_with(tmp_path, tiny_model_dir))
    assert eager.eval_tasks is eager.eval_tasks
    assert dict(eager.eval_tasks) == dict(lazy.eval_tasks)
    assert list(lazy.eval_tasks) == ["quality"]


def test_target_modules_are_checked_only_with_the_workload(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    path = study_with(
        tmp_path, tiny_model_dir, search_space__target_modules={"value": ["no_such_proj"]}
    )
    assert load_study(path).name == "lazy"
    with pytest.raises(StudyFileError) as info:
        load_study(path, check_workload=True)
    assert info.value.field == "search_space.target_modules"
    assert "no_such_proj" in str(info.value)
