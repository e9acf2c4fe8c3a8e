"""CostAwareSampler: it prefers what is cheaper for the same expected gain, stays within the
search space, and prices recipe trials with the quote's time model and the study's done work."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from sweeper.samplers import CostAwareSampler, make_sampler
from sweeper.samplers.cost_aware import recipe_trial_cost_eur
from sweeper.study import load_study
from tests.conftest import write_study

REPO = Path(__file__).resolve().parents[3]


def _toy(trial: optuna.Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    kind = trial.suggest_categorical("kind", ["cheap", "dear"])
    return (x - 0.5) ** 2, (x - 0.2) ** 2 + (0.0 if kind == "cheap" else 0.01)


def _dear_is_costly(study: optuna.Study, params: dict) -> float:
    return 100.0 if params["kind"] == "dear" else 1.0


def test_prefers_the_cheap_candidates_once_scoring_starts() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = CostAwareSampler(_dear_is_costly, n_startup_trials=4, seed=0)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(_toy, n_trials=24)
    scored = [t.params["kind"] for t in study.trials[4:]]
    assert scored.count("cheap") >= 0.8 * len(scored), scored
    assert all(0.0 <= t.params["x"] <= 1.0 for t in study.trials)


def test_without_cost_differences_it_still_improves_the_front() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = CostAwareSampler(lambda study, params: 1.0, n_startup_trials=4, seed=1)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(_toy, n_trials=20)
    best = min(t.values[0] + t.values[1] for t in study.trials)
    first = min(t.values[0] + t.values[1] for t in study.trials[:4])
    assert best < first


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="n_candidates >= 1"):
        CostAwareSampler(_dear_is_costly, n_candidates=0)


def test_recipe_study_selects_it_and_prices_cached_loras_lower(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "studies" / "recipe.yaml").read_text())
    data["sampler"] = {"name": "cost_aware", "n_startup_trials": 2}
    loaded = load_study(write_study(tmp_path / "recipe.yaml", data))
    assert isinstance(make_sampler(loaded, 0), CostAwareSampler)

    cost = recipe_trial_cost_eur(loaded)
    study = optuna.create_study(directions=loaded.directions)
    params = {"lora_r": 8, "learning_rate": 1e-3, "merge_method": "none", "quantization": "int8"}
    fresh = cost(study, params)
    trained = optuna.trial.create_trial(
        params=params | {"quantization": "fp32"},
        distributions={
            "lora_r": optuna.distributions.CategoricalDistribution([8, 16]),
            "learning_rate": optuna.distributions.CategoricalDistribution([1e-3, 3e-3]),
            "merge_method": optuna.distributions.CategoricalDistribution(
                ["none", "linear", "ties"]
            ),
            "quantization": optuna.distributions.CategoricalDistribution(["fp32", "int8", "int4"]),
        },
        values=[0.9, 0.6, 3.0, 100.0],
        user_attrs={"cache": {"lora": False, "eval": False}},
    )
    study.add_trial(trained)
    reused = cost(study, params)
    merging = cost(study, params | {"merge_method": "ties"})
    assert 0 < reused < fresh
    assert merging > reused  # the partner LoRA still has to be trained, and the merge run
