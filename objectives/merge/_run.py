"""Running a merge: mergekit's Python API in this process, on the trial's device, offline."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from objectives.assets import resolve_model_path
from objectives.measure import measure_resources
from objectives.merge._config import MergeConfig, MergeSource
from objectives.merge._errors import MergeConfigError, MergeError
from objectives.upstream.mergekit import release_loaders

_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)


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
                release_loaders()  # else every merged model stays memory-mapped
            _copy_tokenizer_files(Path(str(resolved.models[0].model)), out)
            seconds = time.perf_counter() - start
    return MergeResult(
        out_dir=out,
        seconds=seconds,
        peak_memory_bytes=usage.peak_memory_bytes,
        size_bytes=sum(path.stat().st_size for path in out.glob("*.safetensors")),
        mergekit_config=mergekit_config,
    )


def _resolve_paths(config: MergeConfig) -> MergeConfig:
    """``config`` with model specs turned into absolute folders, each checked to exist."""

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
