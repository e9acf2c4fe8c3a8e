"""Turning a study's search space into Optuna suggestions and LoRA settings.

Optuna categorical choices must be scalars, so list-valued choices (module lists) are offered
under a string label (``"q_proj+v_proj"``) and turned back into lists here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna

from sweeper.study import (
    CONDITIONAL,
    DENSITY_METHODS,
    SEARCHABLE,
    TARGET_MODULE_PRESETS,
    Choices,
    Fixed,
    Range,
    SearchSpace,
)

_INTEGER_DIMENSIONS = {"lora_r", "epochs"}


def _label(value: Any) -> Any:
    return "+".join(value) if isinstance(value, list) else value


def _modules(label: str) -> list[str]:
    preset = TARGET_MODULE_PRESETS.get(label)
    if preset is not None:
        return list(preset)
    return label.split("+")


def distributions(space: SearchSpace) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distributions for the searched (non-fixed) dimensions, in a stable order."""
    out: dict[str, optuna.distributions.BaseDistribution] = {}
    for name in SEARCHABLE:
        dim = getattr(space, name)
        if dim is None:
            continue
        if isinstance(dim, Choices):
            out[name] = optuna.distributions.CategoricalDistribution(
                [_label(c) for c in dim.choices]
            )
        elif isinstance(dim, Range):
            if name in _INTEGER_DIMENSIONS:
                out[name] = optuna.distributions.IntDistribution(
                    int(dim.low), int(dim.high), log=dim.log, step=int(dim.step or 1)
                )
            else:
                out[name] = optuna.distributions.FloatDistribution(
                    dim.low, dim.high, log=dim.log, step=dim.step
                )
    return out


def fixed_values(space: SearchSpace) -> dict[str, Any]:
    return {
        name: _label(getattr(space, name).value)
        for name in SEARCHABLE
        if isinstance(getattr(space, name), Fixed)
    }


def suggest(trial: optuna.trial.BaseTrial, space: SearchSpace) -> dict[str, Any]:
    """Sample every searched dimension on ``trial``; return all active dimensions.

    Conditional dimensions (``merge_weight`` only when merging, ``merge_density`` only for
    ties/DARE) are neither sampled nor returned when inactive, so Optuna's samplers see a
    conditional space (TPE's ``group=True`` models each branch apart).
    """
    params = fixed_values(space)
    for name, dist in distributions(space).items():
        if name in CONDITIONAL and not CONDITIONAL[name](params):
            continue
        params[name] = _suggest_one(trial, name, dist)
    for name, active in CONDITIONAL.items():
        if name in params and not active(params):
            del params[name]
    return params


def _suggest_one(trial: optuna.trial.BaseTrial, name: str, dist: Any) -> Any:
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)


@dataclass(frozen=True)
class LoraSettings:
    """One configuration in LoRA's own terms."""

    r: int
    alpha: int
    alpha_ratio: float
    learning_rate: float
    target_modules_label: str
    target_modules: list[str]
    epochs: int
    dropout: float

    def as_params(self) -> dict[str, Any]:
        """Flat parameters as logged to MLflow."""
        return {
            "lora_r": self.r,
            "lora_alpha": self.alpha,
            "lora_alpha_ratio": self.alpha_ratio,
            "learning_rate": self.learning_rate,
            "target_modules": self.target_modules_label,
            "epochs": self.epochs,
            "lora_dropout": self.dropout,
        }


def lora_settings(params: dict[str, Any]) -> LoraSettings:
    r = int(params["lora_r"])
    ratio = float(params["lora_alpha_ratio"])
    label = str(params["target_modules"])
    return LoraSettings(
        r=r,
        alpha=max(1, round(ratio * r)),  # peft's alpha is an integer
        alpha_ratio=ratio,
        learning_rate=float(params["learning_rate"]),
        target_modules_label=label,
        target_modules=_modules(label),
        epochs=int(params["epochs"]),
        dropout=float(params["lora_dropout"]),
    )


@dataclass(frozen=True)
class RecipeSettings:
    """One post-training recipe: a LoRA, an optional merge, a quantization level, a target."""

    lora: LoraSettings
    merge_method: str
    merge_weight: float | None
    merge_density: float | None
    quantization: str
    target_instance: str | None
    target_pricing: str | None
    train_quantization: str = "none"  # the base model while the LoRA trains: none or nf4 (QLoRA)

    @property
    def merges(self) -> bool:
        return self.merge_method != "none"

    def as_params(self) -> dict[str, Any]:
        out = self.lora.as_params()
        out["merge_method"] = self.merge_method
        if self.merge_weight is not None:
            out["merge_weight"] = self.merge_weight
        if self.merge_density is not None:
            out["merge_density"] = self.merge_density
        out["quantization"] = self.quantization
        out["train_quantization"] = self.train_quantization
        return out


def recipe_settings(params: dict[str, Any]) -> RecipeSettings:
    """The recipe of a trial's parameters (as returned by ``suggest``)."""
    method = str(params.get("merge_method", "none"))
    merging = method != "none"
    return RecipeSettings(
        lora=lora_settings(params),
        merge_method=method,
        merge_weight=float(params["merge_weight"]) if merging else None,
        merge_density=(float(params["merge_density"]) if method in DENSITY_METHODS else None),
        quantization=str(params.get("quantization", "fp32")),
        target_instance=params.get("target_instance"),
        target_pricing=params.get("target_pricing"),
        train_quantization=str(params.get("train_quantization", "none")),
    )
