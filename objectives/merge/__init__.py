"""Merging models with mergekit: a method and per-model weights, no training.

A merge combines two or more models of the same architecture -- fine-tuned folders,
a base model plus a LoRA adapter (``MergeSource(model=BASE, adapter=ADAPTER_DIR)``),
or the outputs of earlier trials -- into one model folder. ``MergeConfig`` holds
what a study chooses and is validated when built; ``to_mergekit_yaml`` is the
mergekit configuration it stands for; ``merge_models`` runs mergekit in this process
through its Python API (``mergekit.merge.run_merge``), on CPU, offline.

Methods (mergekit's names and semantics), one public module each, registered in ``MERGERS``
(the study schema, the recipe pipeline and the docs read it; a new method is one new module,
and the contract suite in ``tests/objectives/merge/`` runs against it):

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

from objectives.merge._base import MergeMethod
from objectives.merge._config import MERGE_DTYPES, MergeConfig, MergeDtype, MergeSource
from objectives.merge._errors import MergeConfigError, MergeError
from objectives.merge._registry import (
    MERGERS,
    get_merge_method,
    interpolating_methods,
    task_vector_methods,
)
from objectives.merge._run import MergeResult, merge_models
from objectives.merge._share import merge_config_for_share

MERGE_METHODS: tuple[str, ...] = MERGERS.names()
"""Every merge method a study may choose (``MERGERS.names()``)."""

__all__ = [
    "MERGERS",
    "MERGE_DTYPES",
    "MERGE_METHODS",
    "MergeConfig",
    "MergeConfigError",
    "MergeDtype",
    "MergeError",
    "MergeMethod",
    "MergeResult",
    "MergeSource",
    "get_merge_method",
    "interpolating_methods",
    "merge_config_for_share",
    "merge_models",
    "task_vector_methods",
]
