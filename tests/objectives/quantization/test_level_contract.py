"""The contract every registered quantization level keeps, run against each one on the tiny
random model: a new level module is tested here without editing this file.

* it describes itself: a method name, notes, and a serving dtype the cost model prices;
* the stored size shrinks from fp32 as its serving dtype says: the bytes per parameter of its
  quantized linear layers are the cost model's bytes for that dtype (``cost_models.DTYPE_BYTES``),
  within ``BYTES_TOLERANCE`` (scales and their layout);
* quantizing in memory and loading from a folder give the same model size;
* the quantized model still generates tokens.

A level whose optional package is not installed is skipped, naming the package (its backend
cannot run here).
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import torch

from cost_models import DTYPE_BYTES
from objectives import load_model
from objectives.quantization import (
    QUANTIZERS,
    QuantMethod,
    load_quantized,
    model_size_bytes,
    quantize_model,
)

#: How far the bytes per parameter of a level's linear layers may be from the cost model's,
#: relative: scales and code books cost more per weight on a tiny model's short rows (64 inputs),
#: and backends lay them out differently (bitsandbytes' CPU kernel keeps NF4 absmaxes in bf16,
#: 0.53 bytes per weight, where the cost model prices the GPU layout, fp32 absmaxes: 0.56).
BYTES_TOLERANCE = 0.15


def _available(level: str) -> QuantMethod:
    method = QUANTIZERS.get(level)
    if method.package is not None and importlib.util.find_spec(method.package) is None:
        pytest.skip(
            f"quantization level {level!r} needs the package {method.package!r}, which is not "
            "installed here, so its backend cannot run"
        )
    return method


@pytest.fixture(scope="module")
def fp32_model(tiny_model_dir: Path):
    return load_model(str(tiny_model_dir))


def _linear_names(model: torch.nn.Module) -> list[str]:
    """Names of the decoder's linear layers (the head, tied to the embedding, is left out)."""
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not name.endswith("lm_head")
    ]


@pytest.mark.parametrize("level", QUANTIZERS.names())
def test_level_describes_itself_in_the_cost_models_vocabulary(level: str) -> None:
    method = QUANTIZERS.get(level)
    assert method.level == level
    assert method.method and method.notes
    assert method.serving_dtype in DTYPE_BYTES, (
        f"level {level!r} serves as {method.serving_dtype!r}, which cost_models cannot price; "
        f"known: {sorted(DTYPE_BYTES)}"
    )


@pytest.mark.parametrize("level", QUANTIZERS.names())
def test_bytes_per_parameter_match_the_cost_model(fp32_model, level: str) -> None:
    method = _available(level)
    fp32, _ = fp32_model
    quantized = quantize_model(copy.deepcopy(fp32), level).model
    modules = dict(quantized.named_modules())
    names = _linear_names(fp32)
    n_params = sum(p.numel() for name in names for p in fp32.get_submodule(name).parameters())
    stored = sum(model_size_bytes(modules[name]) for name in names)
    expected = DTYPE_BYTES[method.serving_dtype]
    per_param = stored / n_params
    assert per_param == pytest.approx(expected, rel=BYTES_TOLERANCE), (
        f"level {level!r} stores its linear layers at {per_param:.3f} bytes per parameter, but "
        f"the cost model prices {method.serving_dtype!r} at {expected}"
    )


@pytest.mark.parametrize("level", QUANTIZERS.names())
def test_size_shrinks_from_fp32_and_both_paths_agree(
    fp32_model, tiny_model_dir: Path, level: str
) -> None:
    method = _available(level)
    fp32, _ = fp32_model
    fp32_bytes = model_size_bytes(fp32)
    in_memory = quantize_model(copy.deepcopy(fp32), level)
    from_folder = load_quantized(tiny_model_dir, level)
    assert (in_memory.level, in_memory.serving_dtype) == (level, method.serving_dtype)
    assert from_folder.weight_bytes == in_memory.weight_bytes
    if DTYPE_BYTES[method.serving_dtype] >= DTYPE_BYTES["fp32"]:
        assert in_memory.weight_bytes == fp32_bytes
    else:
        assert in_memory.weight_bytes < fp32_bytes


@pytest.mark.parametrize("level", QUANTIZERS.names())
def test_quantized_model_still_generates(fp32_model, level: str) -> None:
    _available(level)
    fp32, tokenizer = fp32_model
    model = quantize_model(copy.deepcopy(fp32), level).model
    prompt = tokenizer("Extract the name: Tom from Oslo.", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(
            **prompt,
            max_new_tokens=4,
            min_new_tokens=4,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    assert out.shape[1] == prompt["input_ids"].shape[1] + 4
