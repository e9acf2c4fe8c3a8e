"""Training options reach the Trainer (real short runs on the tiny model) and QLoRA is refused off
CUDA. (A base model without a chat template trains and evaluates on plain prompts: tested through
the one trial pipeline, tests/sweeper/recipe/test_recipe_pipeline.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import TrainerCallback

from objectives import (
    AssetError,
    LoraTrainConfig,
    load_model,
    train_lora,
)
from objectives.task_data import PromptCompletion
from objectives.train import build_training_examples, mixed_precision


class SeenByTrainer(TrainerCallback):
    def __init__(self) -> None:
        self.seen: dict[str, object] = {}

    def on_train_begin(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        self.seen = {
            "grad_accum": args.gradient_accumulation_steps,
            "checkpointing_arg": args.activation_checkpointing,
            "checkpointing_on": model.base_model.model.is_activation_checkpointing,
            "bf16": args.bf16,
            "fp16": args.fp16,
        }


SAME = [PromptCompletion("Name of: Tom from Oslo", '{"name": "Tom"}')] * 16


@pytest.mark.parametrize(("accum", "checkpointing"), [(1, False), (2, True)])
def test_grad_accum_and_checkpointing_are_passed_to_the_trainer(
    tiny_model_dir: Path, accum: int, checkpointing: bool
) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    spy = SeenByTrainer()
    config = LoraTrainConfig(
        max_steps=2,
        batch_size=2,
        seq_len=96,
        r=4,
        grad_accum=accum,
        gradient_checkpointing=checkpointing,
    )
    _, result = train_lora(model, tokenizer, config, examples=SAME, trainer_callbacks=[spy])
    assert spy.seen == {
        "grad_accum": accum,
        "checkpointing_arg": checkpointing,
        "checkpointing_on": checkpointing,
        "bf16": False,  # no autocast on CPU
        "fp16": False,
    }
    [row], _ = build_training_examples(tokenizer, SAME[:1], config.seq_len)
    assert result.steps == 2
    # every optimizer step saw batch_size x grad_accum examples (all the same length here)
    assert result.tokens_trained == 2 * 2 * accum * len(row["input_ids"])


def test_mixed_precision_is_off_on_cpu(tiny_model_dir: Path) -> None:
    model, _ = load_model(str(tiny_model_dir), dtype="bfloat16")
    assert str(model.dtype) == "torch.bfloat16"
    assert mixed_precision(model) == "no"


def test_invalid_training_options_are_rejected() -> None:
    from objectives import TrainConfigError

    with pytest.raises(TrainConfigError, match="`grad_accum` must be a positive integer"):
        LoraTrainConfig(grad_accum=0)
    with pytest.raises(TrainConfigError, match="`gradient_checkpointing` must be true or false"):
        LoraTrainConfig(gradient_checkpointing="yes")  # type: ignore[arg-type]


def test_qlora_is_refused_off_cuda(tiny_model_dir: Path) -> None:
    with pytest.raises(
        AssetError, match="train_quantization 'nf4' \\(QLoRA\\) needs a CUDA device"
    ):
        load_model(str(tiny_model_dir), quantization="nf4")
