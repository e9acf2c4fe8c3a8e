"""Objectives: what a sweep trial trains, how it is scored, and what it used.

* ``assets`` -- the bundled SmolLM2-135M-Instruct (converted once from GGUF), model specs,
  a tiny random model for tests.
* ``registry`` / ``tasks/`` / ``data/`` -- the lm-eval tasks and their bundled JSONL data.
* ``train_data`` -- training files in the formats people have (prompt/completion, chat, alpaca,
  text; JSONL or a ``save_to_disk`` folder), validated, tokenized with the loss mask.
* ``target_modules`` -- LoRA target presets resolved against each model's own linear layers.
* ``device`` -- where a trial runs and in which dtype: one decision for every step.
* ``train`` -- LoRA fine-tuning (peft + transformers ``Trainer``), QLoRA on CUDA.
* ``eval_tasks`` -- what a study may evaluate on: any task lm-eval resolves (bundled, a user's
  own task folders, lm-eval's catalogue) or a JSONL file with a built-in scorer (``scorers/``).
* ``evaluate`` -- lm-eval on an in-memory model, one ``TaskScore`` per task.
* ``measure`` -- wall time and peak memory of a block.
* ``quantization/`` -- the quantization levels, one module each, in the ``QUANTIZERS`` registry.
* ``merge/`` -- mergekit merges; the merge methods, one module each, in the ``MERGERS`` registry.
* ``upstream/`` -- adapters over private parts of mergekit and lm-eval, pinned and tested.
* ``baseline`` -- the base model's scores without fine-tuning. (One trial end to end is the
  sweeper's recipe pipeline, ``sweeper/recipe/_pipeline.py``.)

Importing this package is cheap: torch, transformers, peft and lm-eval load on first use.
"""

from objectives.assets import (
    BUILTIN_MODEL_SPEC,
    default_model_dir,
    load_model,
    make_tiny_random_model,
    resolve_model_path,
)
from objectives.baseline import evaluate_base_model
from objectives.errors import AssetError, ObjectiveError, TrainConfigError, UnknownTaskError
from objectives.evaluate import TaskScore, evaluate
from objectives.measure import ResourceUsage, measure_resources, release_memory
from objectives.merge import (
    MERGE_METHODS,
    MERGERS,
    MergeConfig,
    MergeConfigError,
    MergeError,
    MergeMethod,
    MergeResult,
    MergeSource,
    get_merge_method,
    merge_config_for_share,
    merge_models,
)
from objectives.quantization import (
    QUANT_LEVELS,
    QUANTIZERS,
    QuantizationError,
    QuantizedModel,
    QuantMethod,
    get_quant_method,
    load_quantized,
    model_size_bytes,
    quantize_model,
)
from objectives.registry import TASKS, TaskSpec, get_task
from objectives.task_data import data_path as data_file
from objectives.train import LoraTrainConfig, TrainResult, train_lora
from objectives.workload import EvalWorkload, task_workload

__all__ = [
    "BUILTIN_MODEL_SPEC",
    "EvalWorkload",
    "TASKS",
    "AssetError",
    "LoraTrainConfig",
    "ObjectiveError",
    "ResourceUsage",
    "TaskScore",
    "TaskSpec",
    "TrainConfigError",
    "TrainResult",
    "UnknownTaskError",
    "data_file",
    "default_model_dir",
    "evaluate",
    "evaluate_base_model",
    "get_task",
    "load_model",
    "make_tiny_random_model",
    "measure_resources",
    "release_memory",
    "resolve_model_path",
    "task_workload",
    "train_lora",
    "MERGE_METHODS",
    "MERGERS",
    "MergeMethod",
    "get_merge_method",
    "merge_config_for_share",
    "MergeConfig",
    "MergeConfigError",
    "MergeError",
    "MergeResult",
    "MergeSource",
    "QUANT_LEVELS",
    "QUANTIZERS",
    "QuantMethod",
    "QuantizationError",
    "QuantizedModel",
    "get_quant_method",
    "load_quantized",
    "merge_models",
    "model_size_bytes",
    "quantize_model",
]
