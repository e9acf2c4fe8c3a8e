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
from typing import TYPE_CHECKING, Any, Literal

from objectives.assets import resolve_model_path
from objectives.errors import AssetError, ObjectiveError
from objectives.evaluate import TaskScore, evaluate
from objectives.measure import measure_resources
from objectives.registry import get_task
from objectives.task_data import read_examples_file
from objectives.train import LoraTrainConfig, StepCallback, TrainResult, train_lora

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
    ``device`` None means CUDA when available, else CPU. ``output_dir``, if given,
    receives the trained adapter (``adapter_config.json`` + weights).
    """

    model: str
    lora: LoraTrainConfig = field(default_factory=LoraTrainConfig)
    tasks: tuple[str, ...] = DEFAULT_TASKS
    eval_limit: int | None = None
    eval_batch_size: int = DEFAULT_EVAL_BATCH_SIZE
    device: str | None = None
    dtype: Literal["float32", "bfloat16"] = "float32"
    output_dir: Path | None = None
    train_file: Path | None = None
    """A JSONL file of prompt/completion rows to train on instead of ``lora.train_task``'s data."""
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
        if self.dtype not in ("float32", "bfloat16"):
            raise ObjectiveError(f"`dtype` must be float32 or bfloat16, but got {self.dtype!r}.")
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
    """Fine-tune a LoRA on ``inputs.lora.train_task``, then evaluate ``inputs.tasks``.

    The adapter is merged into the weights before evaluation (what a deployment
    would serve, and faster on CPU). Exceptions raised by ``inputs.callback``
    (e.g. ``optuna.TrialPruned``) propagate.
    """
    device = _pick_device(inputs.device)
    model_path = resolve_model_path(inputs.model)
    with measure_resources() as usage:
        start = time.perf_counter()
        model, tokenizer = load_model(model_path, device=device, dtype=inputs.dtype)
        load_seconds = time.perf_counter() - start

        examples = read_examples_file(inputs.train_file) if inputs.train_file is not None else None
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
        merged = peft_model.merge_and_unload()

        eval_start = time.perf_counter()
        scores = evaluate(
            merged,
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
        peak_gpu_memory_bytes=usage.peak_gpu_memory_bytes,
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
) -> dict[str, TaskScore]:
    """Scores of the model without fine-tuning: the baseline every trial is compared to.

    ``model_path`` accepts the same specs as ``LoraTrialInputs.model``.
    """
    for name in tasks:
        if isinstance(name, str):  # else an objectives.eval_tasks.EvalTask, checked at load
            get_task(name)
    _check_limit(eval_limit)
    device = _pick_device(device)
    model, tokenizer = load_model(resolve_model_path(model_path), device=device)
    return evaluate(
        model, tokenizer, list(tasks), limit=eval_limit, batch_size=batch_size, device=device
    )


def load_model(model_path: str, *, device: str = "cpu", dtype: str = "float32") -> tuple[Any, Any]:
    """A causal LM and its tokenizer from a folder or hub id, on ``device``, in ``dtype``.

    Raises ``AssetError`` when the path cannot be loaded (message names the path).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
        model: Any = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype))
    except (OSError, ValueError) as error:
        raise AssetError(f"Cannot load model from {model_path!r}: {error}") from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template is None:
        raise AssetError(
            f"The tokenizer at {model_path!r} has no chat template; the tasks and the LoRA "
            "training format prompts with it. Use an instruction-tuned model."
        )
    return model.to(device), tokenizer


def _pick_device(device: str | None) -> str:
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ObjectiveError(f"Device {device!r} was requested but CUDA is not available.")
    return device


def _check_limit(limit: int | None) -> None:
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ObjectiveError(f"`eval_limit` must be a positive integer or None, but got {limit!r}.")
