"""What a study chooses for one merge (``MergeConfig``, ``MergeSource``), validated when built
against the rules of its method (``MergeMethod``), and the mergekit configuration it stands for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from objectives.merge._base import MergeMethod
from objectives.merge._errors import MergeConfigError
from objectives.merge._registry import get_merge_method, interpolating_methods, task_vector_methods

MergeDtype = Literal["float32", "bfloat16", "float16"]
MERGE_DTYPES: tuple[str, ...] = get_args(MergeDtype)


@dataclass(frozen=True)
class MergeSource:
    """One model entering a merge. Validated on construction.

    ``model`` is a model folder (safetensors + config.json) or a model spec such as
    ``"builtin:smollm2-135m-instruct"``; with ``adapter`` (a peft LoRA folder) the source is
    ``model`` with that adapter merged in. ``weight`` is the model's share (>= 0; mergekit
    normalizes the weights of linear and ties to sum 1; slerp ignores them). ``density`` is the
    fraction of each task vector kept, in (0, 1], for ties and dare methods only
    (None: mergekit's default, 1.0 i.e. keep everything).
    """

    model: str | Path
    adapter: str | Path | None = None
    weight: float = 1.0
    density: float | None = None

    def __post_init__(self) -> None:
        if not str(self.model):
            raise MergeConfigError(f"`model` must name a model folder, but got {self.model!r}.")
        if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float)):
            raise MergeConfigError(f"`weight` must be a number, but got {self.weight!r}.")
        if not (math.isfinite(self.weight) and self.weight >= 0):
            raise MergeConfigError(
                f"`weight` must be finite and >= 0, but got weight={self.weight!r} "
                f"for {self.reference()!r}."
            )
        if self.density is not None and (
            isinstance(self.density, bool)
            or not isinstance(self.density, (int, float))
            or not 0 < self.density <= 1
        ):
            raise MergeConfigError(
                f"`density` must be in (0, 1], but got density={self.density!r} "
                f"for {self.reference()!r}."
            )

    def reference(self) -> str:
        """mergekit's reference: ``MODEL`` or ``MODEL+ADAPTER``."""
        return f"{self.model}+{self.adapter}" if self.adapter is not None else str(self.model)


@dataclass(frozen=True)
class MergeConfig:
    """What a study chooses for one merge. Validated on construction.

    ``method`` is a registered merge method's name (``MERGERS.names()``). ``base_model`` (a
    folder or spec) is required by task-vector methods (ties, dare) and rejected by the others
    (slerp's endpoints are its two ``models``). ``t`` is slerp's interpolation factor in
    [0, 1]. ``dtype`` is the dtype the merge computes in and writes. ``seed`` seeds DARE's
    random drops.
    """

    method: str
    models: Sequence[MergeSource]
    base_model: str | Path | None = None
    t: float | None = None
    dtype: MergeDtype = "float32"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict, hash=False)
    """Further mergekit global ``parameters`` (e.g. ``{"normalize": False}``), passed through."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        method = get_merge_method(self.method)
        _check_sources(method, self.models)
        _check_base(method, self.base_model)
        _check_t(method, self.t)
        if self.dtype not in MERGE_DTYPES:
            raise MergeConfigError(
                f"`dtype` must be one of {', '.join(MERGE_DTYPES)}, but got {self.dtype!r}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise MergeConfigError(f"`seed` must be an integer, but got {self.seed!r}.")
        if not isinstance(self.extra, dict):
            raise MergeConfigError(f"`extra` must be a dict, but got {type(self.extra)}.")

    def to_mergekit_yaml(self) -> dict[str, Any]:
        """The mergekit configuration (the dict ``mergekit-yaml`` reads), with paths as given."""
        method = get_merge_method(self.method)
        models: list[dict[str, Any]] = []
        for source in self.models:
            entry: dict[str, Any] = {"model": source.reference()}
            parameters: dict[str, float] = {}
            if method.weighted:
                parameters["weight"] = float(source.weight)
            if source.density is not None:
                parameters["density"] = float(source.density)
            if parameters:
                entry["parameters"] = parameters
            models.append(entry)
        config: dict[str, Any] = {"merge_method": self.method, "models": models}
        base_model = method.mergekit_base_model(self)
        if base_model is not None:
            config["base_model"] = base_model
        parameters = dict(self.extra) | method.mergekit_parameters(self)
        if parameters:
            config["parameters"] = parameters
        config["dtype"] = self.dtype
        return config


def _check_sources(method: MergeMethod, sources: Sequence[Any]) -> None:
    name = method.name
    if not all(isinstance(source, MergeSource) for source in sources):
        raise MergeConfigError(
            f"`models` must be MergeSource entries, but got {[type(s).__name__ for s in sources]}."
        )
    if method.exact_models is not None and len(sources) != method.exact_models:
        raise MergeConfigError(
            f"{name} merges exactly {method.exact_models} models, but got {len(sources)}."
        )
    if not method.task_vectors and len(sources) < 2:  # a task vector method merges 1 into its base
        raise MergeConfigError(f"{name} merges at least 2 models, but got {len(sources)}.")
    if not sources:
        raise MergeConfigError(f"{name} needs at least 1 model besides the base, but got 0.")
    if method.weighted and sum(source.weight for source in sources) <= 0:
        raise MergeConfigError(
            f"The merge weights must not all be 0, but got {[s.weight for s in sources]}."
        )
    with_density = [s.reference() for s in sources if s.density is not None]
    if with_density and not method.task_vectors:
        raise MergeConfigError(
            f"`density` applies only to {', '.join(task_vector_methods())}, but {name} got it "
            f"for {with_density}."
        )


def _check_base(method: MergeMethod, base_model: str | Path | None) -> None:
    if method.task_vectors and base_model is None:
        raise MergeConfigError(
            f"{method.name} merges task vectors relative to a base: `base_model` is required."
        )
    if not method.task_vectors and base_model is not None:
        raise MergeConfigError(
            f"`base_model` applies only to {', '.join(task_vector_methods())}, but {method.name} "
            f"got base_model={str(base_model)!r}."
        )


def _check_t(method: MergeMethod, t: float | None) -> None:
    if not method.interpolates:
        if t is not None:
            raise MergeConfigError(
                f"`t` applies only to {', '.join(interpolating_methods())}, but {method.name} "
                f"got t={t!r}."
            )
        return
    if t is None:
        return
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise MergeConfigError(f"`t` must be in [0, 1], but got t={t!r}.")
