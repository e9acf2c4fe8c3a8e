"""What one more trial of a recipe study is expected to cost (EUR), before it runs.

The quote's time model (``sweeper.quote``: calibrated on the study's completed trials, else this
machine's measured speed) prices the trial's parts, and the work the study has already done is
free: a LoRA configuration a completed trial trained is in the work cache, the merge partners are
trained once by the first merging trial, and a recipe already evaluated costs only the overhead.
"""

from __future__ import annotations

from typing import Any

import optuna

import cost_models
from sweeper.costing import PricingContext, cost_eur_for_seconds, trial_hardware_price
from sweeper.quote import (
    calibrated_time_model,
    done_in_storage,
    lora_id,
    physics_time_model,
    recipe_id,
    study_partners,
    train_tokens,
    trial_model_params,
    trial_model_shape,
    trial_recipe,
)
from sweeper.samplers._cost_aware import TrialCostEur
from sweeper.study import LoadedStudy

#: Values of conditional parameters a candidate leaves to the base sampler (only their presence
#: matters to the price: merging or not).
_CONDITIONAL_DEFAULTS = {"merge_weight": 0.5, "merge_density": 1.0}


def recipe_trial_cost_eur(loaded: LoadedStudy) -> TrialCostEur:
    """A ``cost_eur(study, params)`` for ``CostAwareSampler``; the time model and the study's
    done work are refreshed when the number of completed trials changes."""
    eur_per_hour = trial_hardware_price(loaded.spec, PricingContext.load()).eur_per_hour
    state: dict[str, Any] = {"n_complete": -1}

    def refresh(study: optuna.Study) -> None:
        n = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        if n == state["n_complete"]:
            return
        model = calibrated_time_model(loaded, study)
        if model is None:
            model = physics_time_model(
                loaded,
                trial_model_params(loaded),
                float(cost_models.lora_adapter_params(trial_model_shape(loaded), 16, "all-linear")),
            )
        state.update(
            n_complete=n,
            model=model,
            done=done_in_storage(loaded, study),
            partners=study_partners(loaded),
        )

    def cost_eur(study: optuna.Study, params: dict[str, Any]) -> float:
        refresh(study)
        full = dict(params)
        if full.get("merge_method", "none") != "none":
            full = _CONDITIONAL_DEFAULTS | full
        recipe = trial_recipe(loaded, full)
        model, done = state["model"], state["done"]
        if recipe_id(recipe) in done.recipes and not full.keys() & _CONDITIONAL_DEFAULTS:
            return cost_eur_for_seconds(model.overhead_seconds, eur_per_hour)
        tokens = 0.0
        if lora_id(recipe.lora) not in done.loras:
            tokens += train_tokens(loaded, recipe.lora)
        if recipe.merges:
            tokens += sum(
                train_tokens(loaded, s)
                for name, s in state["partners"]
                if name not in done.partners
            )
        seconds = model.seconds(
            train_tokens=tokens, merges=recipe.merges, quantization=recipe.quantization
        )
        return cost_eur_for_seconds(seconds, eur_per_hour)

    return cost_eur
