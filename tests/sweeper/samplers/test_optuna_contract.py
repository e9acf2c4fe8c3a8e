"""Optuna's own sampler contract (``optuna.testing.pytest_samplers``: basic, relative and
multi-objective cases) against every sampler a study file can name, built as ``sweeper run``
builds it (``make_sampler`` from the bundled demo study), with ``n_startup_trials: 0`` as
Optuna's own suite runs its samplers.

The cases a sampler cannot meet by design are skipped with the reason, as Optuna's suite leaves
them out: ``grid`` samples only its grid (Optuna tests ``GridSampler`` apart, in
``tests/samplers_tests/test_grid.py``), and ``random`` and ``nsga2`` sample nothing jointly
(Optuna runs its relative cases on multivariate TPE, CMA-ES and GP only).

``cost_aware`` prices a candidate with the recipe cost model, which knows recipe parameters only
(``lora_r``, ``merge_method``, ...); the contract's spaces are ``x`` and ``y``, so here every
candidate costs the same and the sampler is otherwise built as the study file builds it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import optuna
import pytest
from optuna.testing.pytest_samplers import (
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
)

import sweeper.samplers.cost_aware
from sweeper.samplers import SAMPLERS, make_sampler
from sweeper.study import LoadedStudy, load_study

#: Sampler -> (test-case class whose cases do not apply, why). Everything else must pass.
INAPPLICABLE: dict[str, dict[str, str]] = {
    "grid": {
        "BasicSamplerTestCase": "GridSampler samples only the study's finite grid; these cases "
        "suggest distributions of their own",
        "RelativeSamplerTestCase": "GridSampler samples only the study's finite grid",
        "MultiObjectiveSamplerTestCase": "GridSampler samples only the study's finite grid",
    },
    "random": {
        "RelativeSamplerTestCase": "RandomSampler samples each parameter on its own: "
        "sample_relative returns {} by design",
    },
    "nsga2": {
        "RelativeSamplerTestCase": "NSGAIISampler's sample_relative breeds from a full "
        "generation of parents; with one trial it returns {} by design",
    },
}


@pytest.fixture(scope="module")
def demo() -> LoadedStudy:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return load_study("demo")


def _study_with_sampler(demo: LoadedStudy, name: str) -> LoadedStudy:
    section = demo.spec.sampler.model_copy(update={"name": name, "n_startup_trials": 0})
    return dataclasses.replace(demo, spec=demo.spec.model_copy(update={"sampler": section}))


def _one_eur(study: optuna.Study, params: dict) -> float:
    return 1.0


class TestEveryRegisteredSampler(
    BasicSamplerTestCase, RelativeSamplerTestCase, MultiObjectiveSamplerTestCase
):
    @pytest.fixture(params=SAMPLERS.names())
    def sampler(
        self, request: pytest.FixtureRequest, demo: LoadedStudy, monkeypatch: pytest.MonkeyPatch
    ) -> Callable[[], optuna.samplers.BaseSampler]:
        name = request.param
        case = request.function.__qualname__.split(".")[0]
        reason = INAPPLICABLE.get(name, {}).get(case)
        if reason is not None:
            pytest.skip(f"{name}: {reason}")
        monkeypatch.setattr(
            sweeper.samplers.cost_aware, "recipe_trial_cost_eur", lambda _loaded: _one_eur
        )
        loaded = _study_with_sampler(demo, name)
        return lambda: make_sampler(loaded, 0)
