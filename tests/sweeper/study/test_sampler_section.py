"""The study file's ``sampler`` section: a registered name, ``n_startup_trials`` and the named
sampler's keyword arguments (``kwargs``), refused at load in one line naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sweeper.errors import StudyFileError
from sweeper.study import load_study

REPO = Path(__file__).resolve().parents[3]
DEMO = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())


def _load(tmp_path: Path, sampler: Any):  # noqa: ANN202
    data = copy.deepcopy(DEMO)
    data["sampler"] = sampler
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_study(path)


def test_an_unknown_sampler_is_refused_listing_the_registered_ones(tmp_path: Path) -> None:
    with pytest.raises(StudyFileError) as info:
        _load(tmp_path, {"name": "cmaes"})
    error = info.value
    assert (error.field, error.value) == ("sampler.name", "cmaes")
    assert error.valid == (
        "Unknown sampler 'cmaes'. Available: tpe, random, nsga2, gp, grid, cost_aware"
    )
    assert str(error).count("\n") == 0


def test_name_and_n_startup_trials_work_as_before(tmp_path: Path) -> None:
    spec = _load(tmp_path, {"name": "gp", "n_startup_trials": 7}).spec.sampler
    assert (spec.name, spec.n_startup_trials, spec.kwargs) == ("gp", 7, {})


def test_kwargs_are_kept_for_the_sampler(tmp_path: Path) -> None:
    spec = _load(tmp_path, {"name": "tpe", "kwargs": {"n_ei_candidates": 48}}).spec.sampler
    assert spec.kwargs == {"n_ei_candidates": 48}


@pytest.mark.parametrize(
    ("sampler", "field", "value", "valid"),
    [
        (
            {"name": "tpe", "kwargs": {"n_ei_candidate": 48}},
            "sampler.kwargs.n_ei_candidate",
            "n_ei_candidate",
            "unknown keyword argument; tpe takes n_ei_candidates (int, default 24)",
        ),
        (
            {"name": "tpe", "kwargs": {"n_ei_candidates": "48"}},
            "sampler.kwargs.n_ei_candidates",
            "48",
            "Input should be a valid integer; tpe takes n_ei_candidates",
        ),
        (
            {"name": "tpe", "kwargs": {"n_ei_candidates": True}},
            "sampler.kwargs.n_ei_candidates",
            True,
            "Input should be a valid integer",
        ),
        (
            {"name": "tpe", "kwargs": {"n_ei_candidates": 0}},
            "sampler.kwargs.n_ei_candidates",
            0,
            "greater than or equal to 1",
        ),
        (
            {"name": "tpe", "kwargs": {"multivariate": False}},
            "sampler.kwargs",
            {"multivariate": False},
            "`group: true` needs `multivariate: true`, but got multivariate=False",
        ),
        (
            {"name": "nsga2", "kwargs": {"crossover_prob": 1.5}},
            "sampler.kwargs.crossover_prob",
            1.5,
            "less than or equal to 1; nsga2 takes population_size",
        ),
        (
            {"name": "cost_aware", "kwargs": {"bandwidth": float("nan")}},
            "sampler.kwargs.bandwidth",
            None,  # NaN != NaN: checked apart
            "finite number",
        ),
        (
            {"name": "random", "kwargs": {"seed": 1}},
            "sampler.kwargs.seed",
            "seed",
            "unknown keyword argument; random takes no keyword arguments",
        ),
        (
            {"name": "tpe", "kwargs": {"n_startup_trials": 1}},
            "sampler.kwargs.n_startup_trials",
            "n_startup_trials",
            "unknown keyword argument",
        ),
        (
            {"name": "tpe", "kwargs": [48]},
            "sampler.kwargs",
            [48],
            "valid dictionary",
        ),
    ],
)
def test_a_bad_keyword_argument_is_refused_in_one_line(
    tmp_path: Path, sampler: dict, field: str, value: Any, valid: str
) -> None:
    with pytest.raises(StudyFileError) as info:
        _load(tmp_path, sampler)
    error = info.value
    assert error.field == field
    if value is not None:
        assert error.value == value
    assert valid in error.valid
    assert str(error).startswith(str(tmp_path / "study.yaml"))
    assert "\n" not in str(error)
