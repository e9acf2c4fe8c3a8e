"""Quantization levels on the tiny random model: each runs, shrinks and still evaluates."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import torch

from objectives import evaluate, load_model
from objectives.quantization import (
    QUANT_LEVELS,
    QUANTIZERS,
    QuantizationError,
    get_quant_method,
    load_quantized,
    model_size_bytes,
    quantize_model,
)

needs_bitsandbytes = pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is None, reason="int4 needs bitsandbytes"
)
LEVEL_PARAMS = [
    pytest.param(level, marks=needs_bitsandbytes) if level == "int4" else level
    for level in QUANT_LEVELS
]


@pytest.fixture(scope="module")
def fp32_model(tiny_model_dir: Path):
    model, tokenizer = load_model(str(tiny_model_dir))
    return model, tokenizer


def test_levels_registry_and_unknown_level() -> None:
    assert QUANT_LEVELS == ("fp32", "bf16", "fp16", "int8", "int4")
    assert QUANTIZERS.names() == QUANT_LEVELS
    assert get_quant_method("int8").method == "torchao.Int8WeightOnlyConfig"
    with pytest.raises(
        QuantizationError,
        match="Unknown quantization level 'int3'. Available: fp32, bf16, fp16, int8, int4",
    ):
        quantize_model(torch.nn.Linear(2, 2), "int3")


def test_size_counts_tied_weights_once(fp32_model) -> None:
    model, _ = fp32_model
    assert model.lm_head.weight is model.model.embed_tokens.weight
    n_values = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    assert model_size_bytes(model) == 4 * n_values


@pytest.mark.parametrize("level", LEVEL_PARAMS)
def test_each_level_runs_shrinks_and_still_evaluates(fp32_model, level: str) -> None:
    fp32, tokenizer = fp32_model
    fp32_bytes = model_size_bytes(fp32)
    result = quantize_model(copy.deepcopy(fp32), level)
    assert (result.level, result.method) == (level, QUANTIZERS.get(level).method)
    assert result.serving_dtype == QUANTIZERS.get(level).serving_dtype and result.notes
    assert result.weight_bytes == model_size_bytes(result.model)
    if level == "fp32":
        assert result.weight_bytes == fp32_bytes
    else:
        assert result.weight_bytes < fp32_bytes * (0.55 if level in ("bf16", "fp16") else 0.75)
    scores = evaluate(
        result.model, tokenizer, ["sweeper_json_extract", "sweeper_general"], limit=2, batch_size=2
    )
    assert all(0 <= score.value <= 1 for score in scores.values())
    # lm-eval re-ties weights: the size must not change under it (no silently undone layer)
    assert model_size_bytes(result.model) == result.weight_bytes
    assert all(p.device.type == "cpu" for p in result.model.parameters())


def test_int8_quantizes_linear_layers_and_keeps_the_tied_head(fp32_model) -> None:
    fp32, _ = fp32_model
    model = quantize_model(copy.deepcopy(fp32), "int8").model
    assert type(model.model.layers[0].self_attn.q_proj.weight).__name__ == "Int8Tensor"
    assert model.lm_head.weight is model.model.embed_tokens.weight
    with torch.no_grad():
        ids = torch.tensor([[1, 5, 9, 42]])
        torch.testing.assert_close(model(ids).logits, fp32(ids).logits, atol=0.05, rtol=0.05)


def test_cast_levels_change_dtype_only(fp32_model) -> None:
    fp32, _ = fp32_model
    for level, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        model = quantize_model(copy.deepcopy(fp32), level).model
        assert {p.dtype for p in model.parameters()} == {dtype}


@needs_bitsandbytes
def test_int4_is_nf4_loaded_from_a_folder_and_leaves_the_input_alone(
    fp32_model, tiny_model_dir: Path
) -> None:
    fp32, _ = fp32_model
    before = fp32.model.layers[0].self_attn.q_proj.weight.detach().clone()
    in_memory = quantize_model(fp32, "int4")
    assert in_memory.model is not fp32
    torch.testing.assert_close(fp32.model.layers[0].self_attn.q_proj.weight, before, rtol=0, atol=0)
    from_folder = load_quantized(tiny_model_dir, "int4")
    assert type(from_folder.model.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    assert from_folder.weight_bytes == in_memory.weight_bytes


def test_load_quantized_checks_the_folder(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(QuantizationError, match="must contain config.json"):
        load_quantized(tmp_path, "int8")
    assert load_quantized(tiny_model_dir, "bf16").weight_bytes < model_size_bytes(
        load_model(str(tiny_model_dir))[0]
    )
