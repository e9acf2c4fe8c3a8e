"""One sweep trial: load a model, fine-tune a LoRA, evaluate it, measure it all.

This is the unit of work the sweeper prices and scores. Everything it reports is
measured on the machine that ran it: wall times in seconds, memory in bytes,
tokens as counted by the model's tokenizer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from objectives.assets import TRAIN_QUANTIZATIONS, load_model, resolve_model_path
from objectives.device import (
    MODEL_DTYPES,
    peak_gpu_memory_bytes,
    reset_peak_gpu_memory,
    resolve_device,
    resolve_dtype,
)
from objectives.errors import ObjectiveError
from objectives.evaluate import TaskScore, evaluate
from objectives.measure import measure_resources
from objectives.registry import get_task
from objectives.train import LoraTrainConfig, StepCallback, TrainResult, train_lora
from objectives.train_data import load_train_data

if TYPE_CHECKING:
    from transformers import TrainerCallback

DEFAULT_TASKS = ("sweeper_json_extract", "sweeper_general")
"""The skill being trained plus the retention check."""

DEFAULT_EVAL_BATCH_SIZE = 32
"""Evaluation batch size: on CPU, 32 generates about 1.5x faster than 8."""


@dataclass(frozen=True)
class LoraTrialInputs:
    """Everything one trial needs. Validated on construction.

    ``model`` is a model spec: ``"builtin:smollm2-135m-instruct"``, a local folder
    or a hub id. ``eval_limit`` caps the items per task (None: whole eval sets).
    ``device`` None means ``auto`` (CUDA when available, else CPU; ``objectives.device``).
    ``dtype`` is a ``model.dtype`` name (auto: bf16 on a GPU that supports it, fp32 on CPU).
    ``train_quantization`` ``nf4`` trains a QLoRA on a 4-bit base (CUDA only).
    ``output_dir``, if given, receives the trained adapter (``adapter_config.json`` + weights).
    """

    model: str
    lora: LoraTrainConfig = field(default_factory=LoraTrainConfig)
    tasks: tuple[str, ...] = DEFAULT_TASKS
    eval_limit: int | None = None
    eval_batch_size: int = DEFAULT_EVAL_BATCH_SIZE
    device: str | None = None
    dtype: str = "auto"
    revision: str | None = None
    trust_remote_code: bool = False
    train_quantization: str = "none"
    output_dir: Path | None = None
    train_file: Path | None = None
    """A training file (JSONL in any ``objectives.train_data`` format, or a ``save_to_disk``
    folder) to train on instead of ``lora.train_task``'s data."""
    train_format: str | None = None
    """The training file's format (None: detected from its first record)."""
    train_fields: tuple[tuple[str, str], ...] = ()
    """Logical field -> the training file's key, for files with other key names."""
    callback: StepCallback | None = None
    trainer_callbacks: tuple[TrainerCallback, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise ObjectiveError(f"`model` must be a non-empty model spec, but got {self.model!r}.")
        if not isinstance(self.lora, LoraTrainConfig):
            raise ObjectiveError(f"`lora` must be a LoraTrainConfig, but got {type(self.lora)}.")
        object.__setattr__(self, "tasks", tuple(self.tasks))
        if not self.tasks:
            raise ObjectiveError("`tasks` must name at least one task.")
        for name in self.tasks:
            if isinstance(name, str):  # else an objectives.eval_tasks.EvalTask, checked at load
                get_task(name)
        _check_limit(self.eval_limit)
        if isinstance(self.eval_batch_size, bool) or not (
            isinstance(self.eval_batch_size, int) and self.eval_batch_size > 0
        ):
            raise ObjectiveError(
                f"`eval_batch_size` must be a positive integer, but got {self.eval_batch_size!r}."
            )
        if self.dtype not in MODEL_DTYPES:
            raise ObjectiveError(
                f"`dtype` must be one of {', '.join(MODEL_DTYPES)}, but got {self.dtype!r}."
            )
        if self.train_quantization not in TRAIN_QUANTIZATIONS:
            raise ObjectiveError(
                f"`train_quantization` must be one of {', '.join(TRAIN_QUANTIZATIONS)}, "
                f"but got {self.train_quantization!r}."
            )
        if self.output_dir is not None:
            object.__setattr__(self, "output_dir", Path(self.output_dir))
        if self.train_file is not None:
            object.__setattr__(self, "train_file", Path(self.train_file))


@dataclass(frozen=True)
class LoraTrialOutputs:
    """What one trial produced and used.

    Times are wall-clock seconds: ``load_seconds`` (model + tokenizer),
    ``train.train_seconds`` (the Trainer), ``eval_seconds`` (all tasks) and
    ``wall_seconds`` (the whole trial). ``tokens_evaluated`` approximates the tokens
    processed by evaluation (prompts plus scored or generated continuations).
    ``peak_memory_bytes`` is the process's peak RSS; ``peak_gpu_memory_bytes`` the
    CUDA allocator's peak (None on CPU).
    """

    scores: dict[str, TaskScore]
    train: TrainResult
    eval_seconds: float
    wall_seconds: float
    load_seconds: float
    tokens_evaluated: int
    peak_memory_bytes: int
    peak_gpu_memory_bytes: int | None
    device: str
    model_path: str
    adapter_dir: Path | None = None


def run_lora_trial(inputs: LoraTrialInputs) -> LoraTrialOutputs:
    """Fine-tune a LoRA on ``inputs.train_file`` (else ``inputs.lora.train_task``'s data),
    then evaluate ``inputs.tasks``, all on one device (``objectives.device``).

    The adapter is merged into the weights before evaluation (what a deployment
    would serve, and faster on CPU); a QLoRA adapter is evaluated on its 4-bit base
    unmerged. Exceptions raised by ``inputs.callback`` (e.g. ``optuna.TrialPruned``)
    propagate. A bad training file raises ``TrainDataError`` before any model loads.
    """
    device = resolve_device(inputs.device)
    dtype = resolve_dtype(inputs.dtype, device)
    model_path = resolve_model_path(inputs.model)
    examples = None
    if inputs.train_file is not None:  # read (and validated) before anything is loaded
        examples = load_train_data(
            inputs.train_file, format=inputs.train_format, fields=dict(inputs.train_fields)
        ).examples
    reset_peak_gpu_memory(device)
    with measure_resources() as usage:
        start = time.perf_counter()
        model, tokenizer = load_model(
            model_path,
            device=device,
            dtype=dtype,
            revision=inputs.revision,
            trust_remote_code=inputs.trust_remote_code,
            quantization=inputs.train_quantization,
        )
        load_seconds = time.perf_counter() - start

        peft_model, train_result = train_lora(
            model,
            tokenizer,
            inputs.lora,
            examples=examples,
            callback=inputs.callback,
            trainer_callbacks=inputs.trainer_callbacks,
        )
        adapter_dir = None
        if inputs.output_dir is not None:
            adapter_dir = inputs.output_dir
            adapter_dir.mkdir(parents=True, exist_ok=True)
            peft_model.save_pretrained(str(adapter_dir))
        if inputs.train_quantization == "none":
            model = peft_model.merge_and_unload()
        else:  # a 4-bit base cannot take the adapter in: evaluate base + adapter as trained
            model = peft_model

        eval_start = time.perf_counter()
        scores = evaluate(
            model,
            tokenizer,
            inputs.tasks,
            limit=inputs.eval_limit,
            batch_size=inputs.eval_batch_size,
            device=device,
        )
        eval_seconds = time.perf_counter() - eval_start
    return LoraTrialOutputs(
        scores=scores,
        train=train_result,
        eval_seconds=eval_seconds,
        wall_seconds=usage.wall_seconds,
        load_seconds=load_seconds,
        tokens_evaluated=sum(score.tokens for score in scores.values()),
        peak_memory_bytes=usage.peak_memory_bytes,
        peak_gpu_memory_bytes=peak_gpu_memory_bytes(device),
        device=device,
        model_path=model_path,
        adapter_dir=adapter_dir,
    )


def evaluate_base_model(
    model_path: str,
    tasks: Sequence[str] = DEFAULT_TASKS,
    eval_limit: int | None = None,
    *,
    batch_size: int = DEFAULT_EVAL_BATCH_SIZE,
    device: str | None = None,
    dtype: str = "auto",
) -> dict[str, TaskScore]:
    """Scores of the model without fine-tuning: the baseline every trial is compared to.

    ``model_path`` accepts the same specs as ``LoraTrialInputs.model``.
    """
    for name in tasks:
        if isinstance(name, str):  # else an objectives.eval_tasks.EvalTask, checked at load
            get_task(name)
    _check_limit(eval_limit)
    device = resolve_device(device)
    model, tokenizer = load_model(
        resolve_model_path(model_path), device=device, dtype=resolve_dtype(dtype, device)
    )
    return evaluate(
        model, tokenizer, list(tasks), limit=eval_limit, batch_size=batch_size, device=device
    )


def _check_limit(limit: int | None) -> None:
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ObjectiveError(f"`eval_limit` must be a positive integer or None, but got {limit!r}.")
