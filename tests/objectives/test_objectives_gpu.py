"""On a CUDA machine everything a trial does stays on the GPU: bf16 training with mixed precision,
QLoRA, the intermediate evaluation used for pruning, the merge and quantization; peak GPU memory
is measured. Skipped without CUDA (marked gpu)."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import TrainerCallback

from objectives import LoraTrainConfig, evaluate, load_model
from objectives.device import (
    peak_gpu_memory_bytes,
    reset_peak_gpu_memory,
    resolve_device,
    resolve_dtype,
)
from objectives.train import mixed_precision, train_lora
from sweeper.recipe import WorkCache, run_recipe
from tests.sweeper.recipe.one_trial import one_trial

pytestmark = pytest.mark.gpu

QUICK = LoraTrainConfig(max_steps=3, batch_size=2, seq_len=96, r=4, target_modules="all-linear")


def cuda_model(folder: Path, *, quantization: str = "none"):
    device = resolve_device("auto")
    return load_model(
        str(folder), device=device, dtype=resolve_dtype("auto", device), quantization=quantization
    )


class StaysOnGpu(TrainerCallback):
    """Evaluates the model being trained mid-training (as pruning does) and records devices."""

    def __init__(self, tokenizer) -> None:  # noqa: ANN001
        self.tokenizer = tokenizer
        self.devices: list[str] = []

    def on_step_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        if state.global_step == 2:
            evaluate(model, self.tokenizer, ["sweeper_general"], limit=2, batch_size=2)
            model.train()
        self.devices.append(str(next(model.parameters()).device))


def test_bf16_lora_trains_and_evaluates_on_the_gpu(tiny_model_dir: Path) -> None:
    import torch

    model, tokenizer = cuda_model(tiny_model_dir)
    assert model.dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    assert model.config._attn_implementation == "sdpa"
    assert mixed_precision(model) in ("bf16", "fp16")
    spy = StaysOnGpu(tokenizer)
    peft_model, result = train_lora(model, tokenizer, QUICK, trainer_callbacks=[spy])
    assert result.steps == 3
    assert spy.devices and all(d.startswith("cuda") for d in spy.devices)
    adapters = [p for n, p in peft_model.named_parameters() if "lora_" in n]
    assert adapters and all(p.dtype == torch.float32 and p.is_cuda for p in adapters)


def test_qlora_trains_a_4bit_base(tiny_model_dir: Path) -> None:
    pytest.importorskip("bitsandbytes")
    model, tokenizer = cuda_model(tiny_model_dir, quantization="nf4")
    assert model.is_loaded_in_4bit
    _, result = train_lora(model, tokenizer, QUICK)
    assert result.steps == 3 and result.trainable_params > 0


def test_a_trial_stays_on_the_gpu_and_measures_its_peak(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    device = resolve_device("auto")
    recipe = one_trial(
        tiny_model_dir,
        QUICK,
        ("sweeper_general",),
        eval_limit=2,
        device=device,
        dtype=resolve_dtype("auto", device),
    )
    reset_peak_gpu_memory(device)
    result = run_recipe(recipe, WorkCache(tmp_path / "cache"))
    assert device.startswith("cuda") and set(result.scores) == {"sweeper_general"}
    peak = peak_gpu_memory_bytes(device)
    assert peak is not None and peak > 0


def test_quantize_and_merge_on_the_gpu(tiny_model_dir: Path, tmp_path: Path) -> None:
    from objectives import MergeConfig, MergeSource, load_quantized, merge_models, quantize_model

    device = resolve_device("auto")
    model, _ = load_model(str(tiny_model_dir), device=device)
    assert str(next(quantize_model(model, "bf16").model.parameters()).device) == device
    merged = merge_models(
        MergeConfig(
            method="linear",
            models=[
                MergeSource(str(tiny_model_dir), weight=0.5),
                MergeSource(str(tiny_model_dir), weight=0.5),
            ],
        ),
        tmp_path / "merged",
        device=device,
    )
    quantized = load_quantized(merged.out_dir, "fp32", device=device)
    assert str(next(quantized.model.parameters()).device) == device
