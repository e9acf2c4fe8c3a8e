"""Training options reach the Trainer (real short runs on the tiny model), a base model without a
chat template trains and evaluates on plain prompts, and QLoRA is refused off CUDA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import TrainerCallback

from objectives import (
    AssetError,
    LoraTrainConfig,
    LoraTrialInputs,
    load_model,
    run_lora_trial,
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


def test_a_base_model_without_chat_template_trains_and_evaluates_on_plain_prompts(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tmp_path / "base-model"
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    tokenizer.chat_template = None
    tokenizer.save_pretrained(base)
    AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).save_pretrained(base)
    assert not json.loads((base / "tokenizer_config.json").read_text()).get("chat_template")
    assert not (base / "chat_template.jinja").exists()

    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"question": f"Q: {a}+{b}=", "answer": f" {a + b}"}) + "\n"
            for a in range(4)
            for b in range(4)
        )
    )
    out = run_lora_trial(
        LoraTrialInputs(
            model=str(base),
            lora=LoraTrainConfig(max_steps=2, batch_size=2, seq_len=64, r=4),
            tasks=("sweeper_general", "sweeper_json_extract"),
            eval_limit=2,
            eval_batch_size=2,
            train_file=train,
            train_fields=(("prompt", "question"), ("completion", "answer")),
        )
    )
    assert out.train.steps == 2 and out.train.tokens_trained > 0
    assert set(out.scores) == {"sweeper_general", "sweeper_json_extract"}
    assert all(score.n_samples == 2 for score in out.scores.values())
    assert out.device == "cpu" and out.peak_gpu_memory_bytes is None


def test_qlora_is_refused_off_cuda(tiny_model_dir: Path) -> None:
    with pytest.raises(
        AssetError, match="train_quantization 'nf4' \\(QLoRA\\) needs a CUDA device"
    ):
        load_model(str(tiny_model_dir), quantization="nf4")
