"""LoRA fine-tuning with peft and the transformers ``Trainer``.

The model sees each example exactly as lm-eval will show it at evaluation time:
the user message rendered with the tokenizer's chat template and the generation
prompt (``<|im_start|>assistant\\n``), followed by the answer and ``<|im_end|>``.
Only the answer tokens are trained (prompt labels are -100). Other record formats
(chat, alpaca, plain text) and base models without a chat template: see
``objectives.train_data``.

On CUDA, training runs in the model's dtype with mixed precision to match (bf16 or fp16
autocast; peft keeps the adapter weights in float32), a 4-bit base (QLoRA) is prepared with
``peft.prepare_model_for_kbit_training``, and gradient checkpointing and accumulation are
options of ``LoraTrainConfig``.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from objectives.errors import TrainConfigError
from objectives.registry import get_task
from objectives.target_modules import (
    ALL_LINEAR,
    TARGET_MODULE_PRESETS,
    linear_module_paths,
    resolve_target_modules,
)
from objectives.task_data import read_examples
from objectives.train_data import IGNORE_INDEX, TrainExample, tokenize_examples

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback

StepCallback = Callable[[int, dict[str, float]], None]
"""Called after every logged step with the global step and the Trainer's log dict
(``loss``, ``learning_rate``, ``grad_norm``...). May raise (e.g. ``optuna.TrialPruned``)
to stop training; the exception propagates out of ``train_lora``."""


@dataclass(frozen=True)
class LoraTrainConfig:
    """Hyperparameters of one LoRA fine-tune. Validated on construction.

    Units: ``learning_rate`` per optimizer step (AdamW), ``max_steps`` optimizer
    steps, ``batch_size`` examples per step, ``seq_len`` tokens per example
    (longer examples are cut from the end and counted in ``TrainResult``).
    """

    r: int = 8
    """LoRA rank (> 0)."""
    alpha: int = 16
    """LoRA scaling numerator; the update is scaled by alpha / r (> 0)."""
    learning_rate: float = 1e-3
    """Peak AdamW learning rate (> 0)."""
    target_modules: list[str] | str = field(default_factory=lambda: ["q_proj", "v_proj"])
    """Module names to adapt (e.g. q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj,
    down_proj), "all-linear", or a preset (q_v, attention, mlp, all_linear) resolved against
    the model's own module names (``objectives.target_modules``)."""
    max_steps: int = 30
    """Optimizer steps (> 0)."""
    batch_size: int = 4
    """Examples per optimizer step (> 0)."""
    seq_len: int = 160
    """Maximum tokens per example, prompt included (>= 16)."""
    seed: int = 0
    """Seeds LoRA initialisation, data order and dropout."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA input, in [0, 1)."""
    warmup_ratio: float = 0.0
    """Fraction of ``max_steps`` spent warming the learning rate up from 0, in [0, 1)."""
    lr_scheduler: Literal["linear", "cosine", "constant"] = "linear"
    """Learning-rate decay after warm-up."""
    weight_decay: float = 0.0
    """AdamW weight decay (>= 0)."""
    train_task: str = "sweeper_json_extract"
    """Registered task whose bundled training file is used (see ``objectives.TASKS``)."""
    grad_accum: int = 1
    """Micro-batches of ``batch_size`` accumulated per optimizer step (> 0): the effective
    batch is ``batch_size * grad_accum`` examples."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about a third more compute."""

    def __post_init__(self) -> None:
        for check in (
            _check_positive("r", self.r, integer=True),
            _check_positive("alpha", self.alpha, integer=True),
            _check_positive("learning_rate", self.learning_rate),
            _check_positive("max_steps", self.max_steps, integer=True),
            _check_positive("batch_size", self.batch_size, integer=True),
            _check_positive("grad_accum", self.grad_accum, integer=True),
            _check_bool("gradient_checkpointing", self.gradient_checkpointing),
            _check_seq_len(self.seq_len),
            _check_fraction("lora_dropout", self.lora_dropout),
            _check_fraction("warmup_ratio", self.warmup_ratio),
            _check_non_negative("weight_decay", self.weight_decay),
            _check_target_modules(self.target_modules),
            _check_choice("lr_scheduler", self.lr_scheduler, ("linear", "cosine", "constant")),
            _check_train_task(self.train_task),
        ):
            if check is not None:
                raise TrainConfigError(check)
        if isinstance(self.target_modules, (list, tuple)):
            object.__setattr__(self, "target_modules", list(self.target_modules))

    @property
    def warmup_steps(self) -> int:
        """Warm-up length in optimizer steps."""
        return int(round(self.warmup_ratio * self.max_steps))


@dataclass(frozen=True)
class TrainResult:
    """What one fine-tune did and cost, in units the cost model can price.

    ``train_seconds`` is the wall time of ``Trainer.train`` alone (no model loading);
    ``tokens_trained`` counts non-padding input tokens over all steps;
    ``loss_history`` is the training loss of every step, in order.
    """

    train_seconds: float
    steps: int
    tokens_trained: int
    trainable_params: int
    total_params: int
    final_loss: float
    loss_history: list[float]
    truncated_examples: int = 0
    """Training examples longer than ``seq_len`` that were cut (or dropped, when no
    answer token was left)."""

    @property
    def seconds_per_step(self) -> float:
        return self.train_seconds / self.steps if self.steps else math.nan


def build_training_examples(
    tokenizer: PreTrainedTokenizerBase,
    examples: Sequence[TrainExample],
    seq_len: int,
) -> tuple[list[dict[str, list[int]]], int]:
    """Token ids and labels for each example, plus how many were cut to ``seq_len``.

    The prompt is rendered with the chat template (when the tokenizer has one) and tokenized
    on its own, then the answer (followed by the end-of-turn token) is tokenized on its own:
    the same token boundary the model meets when it generates after the prompt. Examples cut
    so short that no answer token is left are dropped; if that leaves nothing,
    ``TrainConfigError`` says how long ``seq_len`` must be.
    """
    return tokenize_examples(tokenizer, examples, seq_len)


def train_lora(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    config: LoraTrainConfig,
    *,
    examples: Sequence[TrainExample] | None = None,
    callback: StepCallback | None = None,
    trainer_callbacks: Sequence[TrainerCallback] = (),
) -> tuple[Any, TrainResult]:
    """Wrap ``model`` with a fresh LoRA adapter and train it; returns ``(peft_model, result)``.

    ``model`` is modified in place (peft injects the LoRA layers into it): load a
    fresh copy for every trial. ``examples`` defaults to the bundled training file
    of ``config.train_task``. ``callback`` is called after every step with
    ``(step, logs)``; ``trainer_callbacks`` are passed to the ``Trainer`` unchanged.
    Runs on the device the model is on (nothing is moved), in the model's dtype with
    mixed precision to match on CUDA, deterministically for a fixed ``config.seed``.
    ``config.target_modules`` is resolved against the model's own linear layers.
    """
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import PrinterCallback, Trainer, TrainingArguments, set_seed

    if examples is None:
        train_file = get_task(config.train_task).train_file
        assert train_file is not None  # guaranteed by LoraTrainConfig validation
        examples = read_examples(train_file)
    if not examples:
        raise TrainConfigError("LoRA training needs at least one example, but got none.")
    rows, truncated = build_training_examples(tokenizer, examples, config.seq_len)

    device = _device_of(model)
    if device.type == "cuda" and (device.index or 0) != 0:
        raise TrainConfigError(
            f"The transformers Trainer trains on cuda:0, but the model is on {device}; give the "
            "process that GPU alone instead (sweeper --device cuda:N, or CUDA_VISIBLE_DEVICES)."
        )
    targets = resolve_target_modules(config.target_modules, linear_module_paths(model))
    precision = mixed_precision(model)
    set_seed(config.seed)
    if _is_quantized(model):  # QLoRA: norms in float32, inputs require grad
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    peft_model = get_peft_model(
        model,
        LoraConfig(
            r=config.r,
            lora_alpha=config.alpha,
            lora_dropout=config.lora_dropout,
            target_modules=targets,
            task_type="CAUSAL_LM",
        ),
    )
    trainable, total = _count_parameters(peft_model)

    history = _loss_history(callback)
    with tempfile.TemporaryDirectory(prefix="sweeper-lora-") as scratch:
        args = TrainingArguments(
            output_dir=scratch,
            max_steps=config.max_steps,
            per_device_train_batch_size=config.batch_size,
            gradient_accumulation_steps=config.grad_accum,
            # transformers 5's names for gradient checkpointing; non-reentrant works with frozen
            # inputs (LoRA) without enable_input_require_grads
            activation_checkpointing=config.gradient_checkpointing,
            activation_checkpointing_kwargs={"use_reentrant": False},
            bf16=precision == "bf16",
            fp16=precision == "fp16",
            learning_rate=config.learning_rate,
            lr_scheduler_type=config.lr_scheduler,
            warmup_steps=config.warmup_steps,
            weight_decay=config.weight_decay,
            optim="adamw_torch",
            seed=config.seed,
            data_seed=config.seed,
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
            use_cpu=device.type != "cuda",
            dataloader_num_workers=0,
            remove_unused_columns=False,
            include_num_input_tokens_seen="non_padding",
        )
        trainer = Trainer(
            model=peft_model,
            args=args,
            train_dataset=_ListDataset(rows),
            data_collator=_PadCollator(_pad_id(tokenizer)),
            callbacks=[history, *trainer_callbacks],
        )
        trainer.remove_callback(PrinterCallback)  # per-step dicts on stdout; callers log instead
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    peft_model.eval()

    return peft_model, TrainResult(
        train_seconds=seconds,
        steps=trainer.state.global_step,
        tokens_trained=int(trainer.state.num_input_tokens_seen),
        trainable_params=trainable,
        total_params=total,
        final_loss=history.losses[-1] if history.losses else math.nan,
        loss_history=history.losses,
        truncated_examples=truncated,
    )


# --------------------------------------------------------------------------- helpers


def mixed_precision(model: Any) -> Literal["bf16", "fp16", "no"]:
    """The ``Trainer``'s autocast for ``model``: its compute dtype on CUDA, none on CPU.

    A 4-bit model counts in its bitsandbytes compute dtype.
    """
    import torch

    if _device_of(model).type != "cuda":
        return "no"
    dtype = _compute_dtype(model)
    return "bf16" if dtype == torch.bfloat16 else "fp16" if dtype == torch.float16 else "no"


def _compute_dtype(model: Any) -> Any:
    quant = getattr(getattr(model, "config", None), "quantization_config", None)
    compute = getattr(quant, "bnb_4bit_compute_dtype", None)
    if compute is not None:
        import torch

        return getattr(torch, compute) if isinstance(compute, str) else compute
    return getattr(model, "dtype", None)


def _is_quantized(model: Any) -> bool:
    return bool(
        getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False)
    )


def _device_of(model: Any) -> torch.device:
    return next(model.parameters()).device


def _pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return int(pad)


def _count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


class _ListDataset:
    """A map-style dataset over pre-tokenized rows (what ``Trainer`` needs, nothing more)."""

    def __init__(self, rows: list[dict[str, list[int]]]) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self._rows[index]


class _PadCollator:
    """Right-pads a batch to its longest row; padding gets label -100 and attention 0."""

    def __init__(self, pad_id: int) -> None:
        self._pad_id = pad_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        import torch

        width = max(len(row["input_ids"]) for row in rows)
        input_ids, labels, attention = [], [], []
        for row in rows:
            gap = width - len(row["input_ids"])
            input_ids.append(row["input_ids"] + [self._pad_id] * gap)
            labels.append(row["labels"] + [IGNORE_INDEX] * gap)
            attention.append([1] * len(row["input_ids"]) + [0] * gap)
        return {
            "input_ids": torch.tensor(input_ids),
            "labels": torch.tensor(labels),
            "attention_mask": torch.tensor(attention),
        }


def _loss_history(forward: StepCallback | None) -> Any:
    """A ``TrainerCallback`` that records the loss per logged step and forwards the logs.

    Built on call so that importing this module does not import transformers.
    """
    from transformers import TrainerCallback

    class LossHistory(TrainerCallback):
        def __init__(self) -> None:
            self.losses: list[float] = []

        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            logs = logs or {}
            if "loss" in logs:
                self.losses.append(float(logs["loss"]))
                if forward is not None:
                    numeric = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}
                    forward(state.global_step, numeric)

    return LossHistory()


# --------------------------------------------------------------------------- validators


def _check_positive(name: str, value: Any, *, integer: bool = False) -> str | None:
    kind = "a positive integer" if integer else "a positive number"
    is_number = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not is_number or not value > 0 or value != value:
        return f"`{name}` must be {kind}, but got {name}={value!r}."
    return None


def _check_non_negative(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        return f"`{name}` must be a number >= 0, but got {name}={value!r}."
    return None


def _check_fraction(name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        return f"`{name}` must be in [0, 1), but got {name}={value!r}."
    return None


def _check_seq_len(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 16:
        return f"`seq_len` must be an integer >= 16 (tokens), but got seq_len={value!r}."
    return None


def _check_bool(name: str, value: Any) -> str | None:
    if not isinstance(value, bool):
        return f"`{name}` must be true or false, but got {name}={value!r}."
    return None


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str | None:
    if value not in choices:
        return f"`{name}` must be one of {', '.join(choices)}, but got {name}={value!r}."
    return None


def _check_target_modules(value: Any) -> str | None:
    if value == ALL_LINEAR or (isinstance(value, str) and value in TARGET_MODULE_PRESETS):
        return None
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(name, str) and name for name in value)
    ):
        return None
    return (
        "`target_modules` must be a non-empty list of module names (e.g. ['q_proj', 'v_proj']), "
        f"'all-linear' or a preset ({', '.join(TARGET_MODULE_PRESETS)}), "
        f"but got target_modules={value!r}."
    )


def _check_train_task(value: Any) -> str | None:
    from objectives.registry import TASKS, trainable_tasks

    if value not in TASKS or TASKS[value].train_file is None:
        return (
            f"`train_task` must name a task with training data ({', '.join(trainable_tasks())}), "
            f"but got train_task={value!r}."
        )
    return None
