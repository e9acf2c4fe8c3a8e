"""Synthetic studies with the user attributes real sweeps record, built directly in Optuna.

Projections are the cost model's real figures for the demo study's configurations (Llama-2-7B
shape, Azure A100 on-demand target, serving on the cheapest instance per quantization level);
qualities, timings and states are drawn from a seeded generator. Thousands of trials in seconds.
"""

from __future__ import annotations

import itertools
import random
from functools import cache, lru_cache
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "studies" / "demo.yaml"
SERVING_DTYPE = {"fp32": "fp32", "int8": "int8", "int4": "nf4"}
OBJECTIVES = {
    "quality": "maximize",
    "cost_eur_train_projected": "minimize",
    "cost_eur_serving_month": "minimize",
}
BASELINE = {"quality": 0.44, "quality_stderr": 0.033, "retention": 0.68, "retention_stderr": 0.06}
DISTRIBUTIONS = {
    "lora_r": CategoricalDistribution([8, 16]),
    "learning_rate": CategoricalDistribution([1.0e-3, 3.0e-3]),
    "target_modules": CategoricalDistribution(["attention", "all_linear"]),
    "epochs": CategoricalDistribution([1, 2]),
    "quantization": CategoricalDistribution(["fp32", "int8", "int4"]),
    "merge_weight": FloatDistribution(0.5, 0.9),
}


@cache
def _projection(r: int, modules: str, epochs: int, quantization: str, dataset_tokens: float):
    from sweeper.costing import project_serving, project_training
    from sweeper.search import lora_settings
    from sweeper.study import load_study

    loaded = load_study(DEMO)
    projection = loaded.spec.projection.model_copy(update={"dataset_tokens": dataset_tokens})
    spec = loaded.spec.model_copy(update={"projection": projection})
    ctx = _ctx()
    settings = lora_settings(
        {
            "lora_r": r,
            "lora_alpha_ratio": 2,
            "learning_rate": 1e-3,
            "target_modules": modules,
            "epochs": epochs,
            "lora_dropout": 0.0,
        }
    )
    return (
        project_training(spec, settings, ctx),
        project_serving(spec, SERVING_DTYPE[quantization], ctx),
    )


@lru_cache(maxsize=1)
def _ctx():
    from sweeper.costing import PricingContext

    return PricingContext.load()


def synthetic_trials(
    n: int,
    *,
    seed: int = 0,
    dataset_tokens: float = 1.0e7,
    fail_share: float = 0.06,
    prune_share: float = 0.08,
) -> list[optuna.trial.FrozenTrial]:
    """``n`` finished trials (COMPLETE, PRUNED, FAIL) with realistic user attributes."""
    rng = random.Random(seed)
    combos = list(
        itertools.product([8, 16], ["attention", "all_linear"], [1, 2], ["fp32", "int8", "int4"])
    )
    trials = []
    for number in range(n):
        r, modules, epochs, quant = rng.choice(combos)
        lr = rng.choice([1.0e-3, 3.0e-3])
        params = {
            "lora_r": r,
            "learning_rate": lr,
            "target_modules": modules,
            "epochs": epochs,
            "quantization": quant,
            "merge_weight": round(rng.uniform(0.5, 0.9), 3),
        }
        training, serving = _projection(r, modules, epochs, quant, dataset_tokens)
        wall = rng.uniform(60, 140)
        train_s, eval_s = wall * rng.uniform(0.45, 0.6), wall * rng.uniform(0.25, 0.35)
        eur_h = 0.10
        base = {
            "wall_seconds": wall,
            "cost_eur_trial": wall / 3600 * eur_h,
            **training.metrics(),
        }
        attrs = {
            "projection": {"training": training.as_dict(), "serving": serving.as_dict()},
            "mlflow_run_id": None,
        }
        draw = rng.random()
        if draw < fail_share:
            attrs |= {"metrics": base, "fail_reason": "RuntimeError: synthetic failure"}
            trials.append(_trial(number, TrialState.FAIL, params, attrs, None, None))
            continue
        if draw < fail_share + prune_share:
            attrs |= {"metrics": base, "fail_reason": "pruned at step 6 (median rule)"}
            trials.append(_trial(number, TrialState.PRUNED, params, attrs, None, None))
            continue
        quality = min(
            0.99,
            0.80
            + 0.05 * (epochs - 1)
            + 0.02 * (r == 16)
            + 0.03 * (modules == "all_linear")
            - {"fp32": 0, "int8": 0.01, "int4": 0.06}[quant]
            + rng.gauss(0, 0.03),
        )
        retention = BASELINE["retention"] + rng.gauss(-0.02, 0.03)
        metrics = {
            **base,
            "quality": quality,
            "quality_stderr": (quality * (1 - quality) / 40) ** 0.5,
            "retention": retention,
            "retention_stderr": 0.06,
            "train_seconds": train_s,
            "eval_seconds": eval_s,
            "cost_eur_train_trial": train_s / 3600 * eur_h,
            "train_memory_gib_projected": 18.0 + r / 8,
            **serving.metrics(),
        }
        constraints = {"retention >= baseline - 0.05": BASELINE["retention"] - 0.05 - retention}
        attrs |= {
            "metrics": metrics,
            "constraints": constraints,
            "cache": {"lora": False, "quantize": False, "eval": False},
        }
        values = [metrics[k] for k in OBJECTIVES]
        trials.append(
            _trial(number, TrialState.COMPLETE, params, attrs, values, list(constraints.values()))
        )
    return trials


def _trial(number, state, params, attrs, values, constraints):
    return create_trial(
        state=state,
        params=params,
        distributions={k: DISTRIBUTIONS[k] for k in params},
        user_attrs=attrs,
        system_attrs={"constraints": constraints} if constraints is not None else {},
        values=values,
    )


def synthetic_study(
    n: int,
    *,
    storage: str | None = None,
    name: str = "synthetic",
    seed: int = 0,
    dataset_tokens: float = 1.0e7,
) -> optuna.Study:
    """A finished study of ``n`` synthetic trials (in memory unless ``storage`` is given)."""
    study = optuna.create_study(
        study_name=name, storage=storage, directions=list(OBJECTIVES.values())
    )
    study.set_metric_names(list(OBJECTIVES))
    study.set_user_attr("objectives", OBJECTIVES)
    study.set_user_attr(
        "baseline",
        {"metrics": BASELINE, "wall_seconds": 30.0, "cost_eur_trial": 30.0 / 3600 * 0.10},
    )
    study.add_trials(synthetic_trials(n, seed=seed, dataset_tokens=dataset_tokens))
    return study
