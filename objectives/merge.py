"""Merging models with mergekit: a method and per-model weights, no training.

A merge combines two or more models of the same architecture -- fine-tuned folders,
a base model plus a LoRA adapter (``MergeSource(model=BASE, adapter=ADAPTER_DIR)``),
or the outputs of earlier trials -- into one model folder. ``MergeConfig`` holds
what a study chooses and is validated when built; ``to_mergekit_yaml`` is the
mergekit configuration it stands for; ``merge_models`` runs mergekit in this process
through its Python API (``mergekit.merge.run_merge``), on CPU, offline.

Methods (mergekit's names and semantics):

* ``linear`` -- weighted average of the weights (weights normalized to sum 1).
* ``slerp`` -- spherical interpolation between exactly two models; ``t`` = 0 gives the
  first, 1 the second.
* ``ties`` -- task vectors (model - ``base_model``) trimmed to the ``density`` fraction of
  largest magnitudes, sign consensus, weighted sum (normalized).
* ``dare_ties`` / ``dare_linear`` -- task vectors randomly dropped to ``density`` and
  rescaled, combined with (ties) or without (linear) sign consensus; seeded by ``seed``.

A merge costs no training: its trial cost is the merge's wall time and memory
(``MergeResult``) plus evaluation. Two 135M models take about 5-20 s on 2 CPU cores.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from objectives.errors import ObjectiveError

MergeMethod = Literal["linear", "slerp", "ties", "dare_ties", "dare_linear"]
MERGE_METHODS: tuple[str, ...] = get_args(MergeMethod)
"""Every merge method a study may choose."""

METHODS_WITH_BASE: tuple[str, ...] = ("ties", "dare_ties", "dare_linear")
"""Methods that merge task vectors relative to a ``base_model`` (required for them)."""

MergeDtype = Literal["float32", "bfloat16", "float16"]
MERGE_DTYPES: tuple[str, ...] = get_args(MergeDtype)

_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)


class MergeConfigError(ObjectiveError, ValueError):
    """A merge configuration that breaks a rule; the message states the rule and the values."""


class MergeError(ObjectiveError):
    """A merge that could not run: a missing model folder or a mergekit failure."""


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

    ``base_model`` (a folder or spec) is required by ties/dare methods and rejected by the
    others (slerp's endpoints are its two ``models``). ``t`` is slerp's interpolation
    factor in [0, 1]. ``dtype`` is the dtype the merge computes in and writes.
    ``seed`` seeds DARE's random drops.
    """

    method: MergeMethod
    models: Sequence[MergeSource]
    base_model: str | Path | None = None
    t: float | None = None
    dtype: MergeDtype = "float32"
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict, hash=False)
    """Further mergekit global ``parameters`` (e.g. ``{"normalize": False}``), passed through."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        _check_method(self.method)
        _check_sources(self.method, self.models)
        _check_base(self.method, self.base_model)
        _check_t(self.method, self.t)
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
        models: list[dict[str, Any]] = []
        for source in self.models:
            entry: dict[str, Any] = {"model": source.reference()}
            parameters: dict[str, float] = {}
            if self.method != "slerp":
                parameters["weight"] = float(source.weight)
            if source.density is not None:
                parameters["density"] = float(source.density)
            if parameters:
                entry["parameters"] = parameters
            models.append(entry)
        config: dict[str, Any] = {"merge_method": self.method, "models": models}
        if self.method == "slerp":
            config["base_model"] = self.models[0].reference()
        elif self.base_model is not None:
            config["base_model"] = str(self.base_model)
        parameters = dict(self.extra)
        if self.method == "slerp":
            parameters["t"] = float(self.t if self.t is not None else 0.5)
        if parameters:
            config["parameters"] = parameters
        config["dtype"] = self.dtype
        return config


@dataclass(frozen=True)
class MergeResult:
    """A finished merge.

    ``out_dir`` holds the merged model (safetensors, config, tokenizer, and mergekit's
    ``mergekit_config.yml`` + ``README.md``). ``seconds`` is the
    merge's wall time (s), ``peak_memory_bytes`` the process's peak RSS during it (bytes; it
    includes whatever the calling process already held), ``size_bytes`` the bytes of the
    written weight files. ``mergekit_config`` is the configuration that ran, with resolved
    absolute paths (worth logging with the trial).
    """

    out_dir: Path
    seconds: float
    peak_memory_bytes: int
    size_bytes: int
    mergekit_config: dict[str, Any]


def merge_models(config: MergeConfig, out_dir: str | Path, *, device: str = "cpu") -> MergeResult:
    """Run ``config`` with mergekit into ``out_dir`` (created; must be empty or absent).

    Model specs are resolved and every folder is checked first (``MergeError`` names a
    missing one). Adapters are merged into their base in a temporary cache that is
    deleted afterwards. The tokenizer and chat template are copied from the first source's
    model folder. Computes on ``device`` (``cpu`` or ``cuda:N``, see ``objectives.device``);
    sets the global random seeds to ``config.seed``.
    """
    try:
        from mergekit.config import MergeConfiguration
        from mergekit.merge import run_merge
        from mergekit.options import MergeOptions
    except ImportError as error:
        raise MergeError(
            "Merging needs the package 'mergekit', which is not installed. "
            "Install it with: pip install mergekit"
        ) from error

    from objectives.measure import measure_resources

    resolved = _resolve_paths(config)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise MergeError(
            f"The merge output folder must be empty or absent, but {str(out)!r} is not."
        )
    mergekit_config = resolved.to_mergekit_yaml()
    try:
        parsed = MergeConfiguration.model_validate(mergekit_config)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise MergeConfigError(f"mergekit rejected the configuration: {error}") from error

    with tempfile.TemporaryDirectory(prefix="sweeper-lora-merge-") as lora_cache:
        options = MergeOptions(
            copy_tokenizer=True,
            random_seed=config.seed,
            lora_merge_cache=lora_cache,
            lora_merge_dtype=config.dtype,
            device=device,
            quiet=True,
            write_model_card=True,  # README.md + mergekit_config.yml: the provenance
        )
        with measure_resources() as usage:
            start = time.perf_counter()
            try:
                run_merge(parsed, str(out), options=options)
            except (RuntimeError, ValueError, KeyError) as error:
                raise MergeError(f"mergekit failed to merge into {str(out)!r}: {error}") from error
            finally:
                _release_mergekit_loaders()
            _copy_tokenizer_files(Path(str(resolved.models[0].model)), out)
            seconds = time.perf_counter() - start
    return MergeResult(
        out_dir=out,
        seconds=seconds,
        peak_memory_bytes=usage.peak_memory_bytes,
        size_bytes=sum(path.stat().st_size for path in out.glob("*.safetensors")),
        mergekit_config=mergekit_config,
    )


def _release_mergekit_loaders() -> None:
    """Drop mergekit's per-process tensor loaders once a merge is done.

    ``mergekit.io.tasks.LoaderCache`` keeps a loader for every model it ever read, each holding
    its safetensors file memory-mapped, and never lets go. In a sweep that merges a new LoRA every
    trial, each one kept its base+LoRA model (513 MiB for SmolLM2-135M) mapped for the life of the
    process -- from a temporary folder already deleted, so its disk space stayed taken too -- and
    a later merge of the same model reference would read through a loader whose folder is gone.
    """
    from mergekit.io.tasks import LoaderCache

    cache = LoaderCache()
    cache.flush_all()
    cache.loaders.clear()


def _resolve_paths(config: MergeConfig) -> MergeConfig:
    """``config`` with model specs turned into absolute folders, each checked to exist."""
    from objectives.assets import resolve_model_path

    def model_folder(spec: str | Path, role: str) -> str:
        folder = Path(resolve_model_path(str(spec))).expanduser()
        if not (folder / "config.json").is_file():
            raise MergeError(
                f"A merge {role} must be a model folder with config.json, but got {str(spec)!r}."
            )
        return str(folder.resolve())

    def adapter_folder(path: str | Path) -> str:
        folder = Path(path).expanduser()
        if not (folder / "adapter_config.json").is_file():
            raise MergeError(
                f"A LoRA adapter must be a folder with adapter_config.json, but got {str(path)!r}."
            )
        return str(folder.resolve())

    sources = [
        MergeSource(
            model=model_folder(source.model, "model"),
            adapter=adapter_folder(source.adapter) if source.adapter is not None else None,
            weight=source.weight,
            density=source.density,
        )
        for source in config.models
    ]
    for source in sources:
        for path in (source.model, source.adapter):
            if path is not None and ("+" in str(path) or "@" in str(path)):
                raise MergeConfigError(
                    f"mergekit reads '+' and '@' in a path as adapter and revision markers: "
                    f"rename or link the folder, got {str(path)!r}."
                )
    base = model_folder(config.base_model, "base_model") if config.base_model is not None else None
    return MergeConfig(
        method=config.method,
        models=sources,
        base_model=base,
        t=config.t,
        dtype=config.dtype,
        seed=config.seed,
        extra=dict(config.extra),
    )


def _copy_tokenizer_files(source: Path, out: Path) -> None:
    """Copy tokenizer and chat-template files mergekit left out (it takes them from its
    merged-adapter cache, which has none, when the first source carries an adapter)."""
    for name in _TOKENIZER_FILES:
        if (source / name).is_file() and not (out / name).is_file():
            shutil.copy2(source / name, out / name)


def _check_method(method: str) -> None:
    if method not in MERGE_METHODS:
        raise MergeConfigError(
            f"Unknown merge method {method!r}. Available: {', '.join(MERGE_METHODS)}"
        )


def _check_sources(method: str, sources: Sequence[Any]) -> None:
    if not all(isinstance(source, MergeSource) for source in sources):
        raise MergeConfigError(
            f"`models` must be MergeSource entries, but got {[type(s).__name__ for s in sources]}."
        )
    if method == "slerp" and len(sources) != 2:
        raise MergeConfigError(f"slerp merges exactly 2 models, but got {len(sources)}.")
    if len(sources) < 2 and method not in METHODS_WITH_BASE:
        raise MergeConfigError(f"{method} merges at least 2 models, but got {len(sources)}.")
    if not sources:
        raise MergeConfigError(f"{method} needs at least 1 model besides the base, but got 0.")
    if method != "slerp" and sum(source.weight for source in sources) <= 0:
        raise MergeConfigError(
            f"The merge weights must not all be 0, but got {[s.weight for s in sources]}."
        )
    with_density = [s.reference() for s in sources if s.density is not None]
    if with_density and method not in METHODS_WITH_BASE:
        raise MergeConfigError(
            f"`density` applies only to {', '.join(METHODS_WITH_BASE)}, but {method} got it "
            f"for {with_density}."
        )


def _check_base(method: str, base_model: str | Path | None) -> None:
    if method in METHODS_WITH_BASE and base_model is None:
        raise MergeConfigError(
            f"{method} merges task vectors relative to a base: `base_model` is required."
        )
    if method not in METHODS_WITH_BASE and base_model is not None:
        raise MergeConfigError(
            f"`base_model` applies only to {', '.join(METHODS_WITH_BASE)}, but {method} got "
            f"base_model={str(base_model)!r}."
        )


def _check_t(method: str, t: float | None) -> None:
    if method != "slerp":
        if t is not None:
            raise MergeConfigError(f"`t` applies only to slerp, but {method} got t={t!r}.")
        return
    if t is None:
        return
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1:
        raise MergeConfigError(f"`t` must be in [0, 1], but got t={t!r}.")
