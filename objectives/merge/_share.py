"""A merge described the way a sweep samples it: the fine-tune's share of the result.

A study samples one number per merge, ``merge_weight``: the first model's (the fine-tune's)
share, the partners splitting the rest equally. Each method reads it its own way, through its
``MergeMethod`` attributes: a weighted method takes the shares as weights, an interpolating
one (slerp) takes ``t = 1 - share``, and a task-vector method (ties, dare) also merges
relative to ``base_model`` and keeps ``density`` of each task vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from objectives.merge._config import MergeConfig, MergeSource
from objectives.merge._registry import get_merge_method

#: A model entering a merge: a model folder (or spec), and a LoRA adapter folder or None.
ModelRef = tuple[str | Path, str | Path | None]


def merge_config_for_share(
    method: str,
    first: ModelRef,
    partners: Sequence[ModelRef],
    *,
    share: float,
    base_model: str | Path,
    density: float | None = None,
    dtype: str = "float32",
    seed: int = 0,
) -> MergeConfig:
    """The ``MergeConfig`` in which ``first`` has ``share`` (in [0, 1]) of the result.

    ``base_model`` is used only by task-vector methods, ``density`` likewise (ignored by the
    others, as the study samples it only for them)."""
    spec = get_merge_method(method)
    kept = density if spec.task_vectors else None
    rest = (1.0 - share) / max(len(partners), 1)
    sources = [MergeSource(first[0], adapter=first[1], weight=share, density=kept)]
    sources += [
        MergeSource(model, adapter=adapter, weight=rest, density=kept)
        for model, adapter in partners
    ]
    return MergeConfig(
        method=method,
        models=sources,
        base_model=base_model if spec.task_vectors else None,
        t=spec.t_for_share(share),
        dtype=dtype,  # type: ignore[arg-type]  # MergeConfig validates it
        seed=seed,
    )
