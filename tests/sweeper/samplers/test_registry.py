"""The sampler registry: what a study file can name, the keyword arguments each sampler takes,
and the samplers built exactly as before the registry (the same seed gives the same trials)."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import optuna
import pytest

from sweeper.samplers import SAMPLERS, CostAwareSampler, make_sampler
from sweeper.samplers.random import ConstrainedRandomSampler
from sweeper.study import LoadedStudy, load_study

#: What ``make_sampler`` built before the registry (sweeper/runner.py), by name.
EXPECTED_TYPES = {
    "tpe": optuna.samplers.TPESampler,
    "random": ConstrainedRandomSampler,
    "nsga2": optuna.samplers.NSGAIISampler,
    "gp": optuna.samplers.GPSampler,
    "grid": optuna.samplers.GridSampler,
    "cost_aware": CostAwareSampler,
}
#: Options whose default is the sweeper's own choice, not the constructor's.
HOUSE_DEFAULTS = {("tpe", "multivariate"), ("tpe", "group")}
CONSTRUCTORS = {
    "tpe": optuna.samplers.TPESampler,
    "nsga2": optuna.samplers.NSGAIISampler,
    "gp": optuna.samplers.GPSampler,
    "cost_aware": CostAwareSampler,
}


@pytest.fixture(scope="module")
def demo() -> LoadedStudy:
    return load_study("demo")


def _with(demo: LoadedStudy, **sampler: object) -> LoadedStudy:
    section = demo.spec.sampler.model_copy(update=sampler)
    return dataclasses.replace(demo, spec=demo.spec.model_copy(update={"sampler": section}))


def test_the_registry_lists_every_sampler_a_study_file_could_name_before() -> None:
    assert SAMPLERS.names() == ("tpe", "random", "nsga2", "gp", "grid", "cost_aware")


def test_an_unknown_sampler_lists_the_available_ones() -> None:
    with pytest.raises(KeyError, match=r"Unknown sampler 'bogus'\. Available: tpe, random"):
        SAMPLERS.get("bogus")


@pytest.mark.parametrize("name", [n for n in EXPECTED_TYPES if n != "grid"])
def test_each_sampler_builds_its_optuna_sampler(demo: LoadedStudy, name: str) -> None:
    assert type(make_sampler(_with(demo, name=name), 0)) is EXPECTED_TYPES[name]


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_declared_defaults_are_the_constructors_own(name: str) -> None:
    """Passing every declared option builds the sampler the constructor's defaults build."""
    signature = inspect.signature(CONSTRUCTORS[name]).parameters
    for option, field in SAMPLERS.get(name).options.model_fields.items():
        if (name, option) in HOUSE_DEFAULTS:
            continue
        assert option in signature, f"{name} declares {option}, which its constructor lacks"
        assert field.default == signature[option].default, (name, option)


def test_house_tpe_is_multivariate_and_grouped(demo: LoadedStudy) -> None:
    sampler = make_sampler(_with(demo, name="tpe"), 0)
    assert sampler._multivariate and sampler._group  # what the study runs


def test_kwargs_reach_the_sampler(demo: LoadedStudy) -> None:
    tpe = make_sampler(_with(demo, name="tpe", kwargs={"n_ei_candidates": 48}), 0)
    assert tpe._n_ei_candidates == 48
    nsga2 = make_sampler(_with(demo, name="nsga2", kwargs={"population_size": 8}), 0)
    assert nsga2._population_size == 8


def _params_of(sampler: optuna.samplers.BaseSampler, n: int = 8) -> list[dict]:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        k = trial.suggest_categorical("k", ["a", "b"])
        return x, (1 - x) + (k == "b")

    study.optimize(objective, n_trials=n)
    return [t.params for t in study.trials]


@pytest.mark.parametrize("name", ["tpe", "random", "nsga2"])
def test_the_same_seed_gives_the_trials_the_old_construction_gave(
    demo: LoadedStudy, name: str
) -> None:
    """The registry builds what runner.make_sampler built (its code, copied here)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    loaded = _with(demo, name=name, n_startup_trials=2)
    old = {
        "tpe": lambda: optuna.samplers.TPESampler(
            seed=3, n_startup_trials=2, multivariate=True, group=True
        ),
        "random": lambda: optuna.samplers.RandomSampler(seed=3),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=3),
    }[name]()
    unconstrained = dataclasses.replace(
        loaded, spec=loaded.spec.model_copy(update={"constraints": []})
    )
    assert _params_of(make_sampler(unconstrained, 3)) == _params_of(old)


def test_the_readme_documents_every_sampler_and_its_keyword_arguments() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    table = readme[readme.index("### The sampler") :]
    table = table[: table.index("\n## ")]
    for name, kind in SAMPLERS.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        for option in kind.options.model_fields:
            assert f"`{option}`" in row, (name, option)
