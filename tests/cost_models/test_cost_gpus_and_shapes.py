"""GPU spec table and model shapes: sourced figures, Did-you-mean, LoRA adapter sizes."""

from __future__ import annotations

import pytest

from cost_models import (
    MODEL_SHAPES,
    GpuSpecError,
    InvalidInputError,
    UnknownGpuError,
    UnknownModelError,
    approximate_shape,
    gpu_spec,
    load_gpu_specs,
    lora_adapter_params,
    model_shape,
)


def test_gpu_specs_from_the_reference() -> None:
    specs = load_gpu_specs()
    assert {"T4", "L4", "A100-40GB", "A100-80GB", "H100", "H200", "B200"} <= set(specs)
    h100 = specs["H100"]
    assert (
        h100.bf16_tflops,
        h100.int8_tops,
        h100.memory_gib,
        h100.bandwidth_tb_s,
        h100.launch_year,
    ) == (989, 1979, 80, 3.35, 2022)
    assert specs["A100-80GB"].bf16_tflops == 312 and specs["L4"].bf16_tflops == 121
    assert specs["B200"].memory_gib == 180
    for spec in specs.values():
        assert spec.source


def test_missing_spec_figures_are_empty_and_explained() -> None:
    v100 = gpu_spec("V100")
    assert v100.bf16_tflops is None and "Not in the reference" in v100.notes
    with pytest.raises(GpuSpecError, match="bf16 TFLOP/s figure is needed to time compute on V100"):
        _ = v100.peak_flops_per_second


def test_gpu_lookup_is_forgiving_and_suggests() -> None:
    assert gpu_spec("a100 80gb").name == "A100-80GB"
    assert gpu_spec("h100_pcie").name == "H100-PCIe"
    with pytest.raises(UnknownGpuError) as info:
        gpu_spec("A10O")
    assert str(info.value) == "Unknown GPU 'A10O'. Did you mean: A100-40GB, A100-80GB?"
    with pytest.raises(UnknownGpuError, match="Did you mean: H100, H100-NVL, H100-PCIe"):
        gpu_spec("H10")
    with pytest.raises(UnknownGpuError, match="Available: A10, A100-40GB, .*, V100\\."):
        gpu_spec("zzzz")


@pytest.mark.parametrize("name", sorted(MODEL_SHAPES))
def test_preset_shapes_match_their_published_parameter_counts(name: str) -> None:
    shape = MODEL_SHAPES[name]
    assert shape.params_from_shape() == pytest.approx(shape.params, rel=1e-3)
    assert shape.heads % shape.kv_heads == 0 and shape.source


def test_required_presets_exist() -> None:
    assert {
        "smollm2-135m",
        "llama-2-7b",
        "mistral-7b",
        "llama-3-8b",
        "llama-3-70b",
        "gemma-2-9b",
        "phi-3-mini",
    } <= set(MODEL_SHAPES)
    assert model_shape("Llama 3 8B").name == "llama-3-8b"
    with pytest.raises(UnknownModelError, match="Did you mean: llama-3-70b, llama-3-8b"):
        model_shape("llama-3")


def test_lora_adapter_params_match_known_counts() -> None:
    # LLaMA-2-7B, r=8 on q,v: the well-known 4,194,304 trainable parameters.
    assert lora_adapter_params(model_shape("llama-2-7b"), 8, ["q_proj", "v_proj"]) == 4_194_304
    # SmolLM2-135M r=8 / r=64 on q,v: 0.46M / 3.7M (project stack notes).
    smol = model_shape("smollm2-135m")
    assert lora_adapter_params(smol, 8, ["q_proj", "v_proj"]) == 460_800
    assert lora_adapter_params(smol, 64, ["q_proj", "v_proj"]) == 3_686_400
    # all-linear = all seven projections; GQA makes k/v narrower.
    llama3 = model_shape("llama-3-8b")
    per_layer = 16 * ((4096 + 4096) * 2 + (4096 + 1024) * 2 + (4096 + 14336) * 3)
    assert lora_adapter_params(llama3, 16, "all-linear") == 32 * per_layer


def test_lora_adapter_params_rejects_bad_inputs() -> None:
    shape = model_shape("llama-2-7b")
    with pytest.raises(InvalidInputError, match="rank must be > 0"):
        lora_adapter_params(shape, 0)
    with pytest.raises(InvalidInputError, match="must be 'all-linear' or some of q_proj"):
        lora_adapter_params(shape, 8, ["qkv"])


def test_approximate_shape_is_llama_like() -> None:
    shape = approximate_shape(7e9)
    assert shape.params == 7e9 and 3800 <= shape.hidden <= 4500 and 28 <= shape.layers <= 36
    assert shape.name.startswith("approx-")
