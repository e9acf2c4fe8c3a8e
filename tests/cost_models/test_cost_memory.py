"""Memory estimates: bytes per parameter by method and dtype, activations, KV cache."""

from __future__ import annotations

import pytest

from cost_models import (
    InvalidInputError,
    MemoryEstimate,
    kv_cache_bytes,
    lora_adapter_params,
    model_shape,
    serving_memory_bytes,
    training_memory_bytes,
)

GB = 1e9


def states(m: MemoryEstimate) -> float:
    return m.weights_bytes + m.adapters_bytes + m.optimizer_bytes + m.gradients_bytes


def test_full_fine_tuning_is_18_bytes_per_parameter() -> None:
    shape = model_shape("llama-2-7b")
    m = training_memory_bytes(shape, "full")
    assert states(m) == pytest.approx(18 * shape.params)
    assert (m.weights_bytes, m.optimizer_bytes, m.gradients_bytes) == pytest.approx(
        (6 * shape.params, 8 * shape.params, 4 * shape.params)
    )
    eight_bit = training_memory_bytes(shape, "full", optimizer="adamw-8bit")
    assert states(eight_bit) == pytest.approx(12 * shape.params)
    assert states(training_memory_bytes(shape, "full", dtype="fp32")) == pytest.approx(
        16 * shape.params
    )


def test_lora_is_frozen_weights_plus_18_bytes_per_adapter_parameter() -> None:
    shape = model_shape("llama-2-7b")
    adapters = lora_adapter_params(shape, 8, ["q_proj", "v_proj"])
    m = training_memory_bytes(shape, "lora", adapter_params=adapters)
    assert m.weights_bytes == pytest.approx(2 * shape.params)
    assert m.adapters_bytes + m.optimizer_bytes + m.gradients_bytes == pytest.approx(18 * adapters)


@pytest.mark.parametrize(
    ("dtype", "bytes_per_param"), [("fp32", 4), ("bf16", 2), ("int8", 1), ("int4", 0.5)]
)
def test_weights_by_dtype(dtype: str, bytes_per_param: float) -> None:
    m = training_memory_bytes(1e9, "lora" if dtype in ("fp32", "bf16") else "qlora", dtype=dtype)
    assert m.weights_bytes == pytest.approx(bytes_per_param * 1e9)
    assert serving_memory_bytes(model_shape("llama-3-8b"), dtype).weights_bytes == pytest.approx(
        bytes_per_param * model_shape("llama-3-8b").params
    )


def test_qlora_7b_matches_measured_memory() -> None:
    # LLaMA-Factory: 7B QLoRA uses 7–9 GB at 1k context (HF); Unsloth about 5 GB (reference §5).
    shape = model_shape("llama-2-7b")
    adapters = lora_adapter_params(shape, 8, ["q_proj", "v_proj"])
    plain = training_memory_bytes(
        shape, "qlora", adapter_params=adapters, seq_len=1024, checkpointing=False
    )
    assert 7 * GB <= plain.total_bytes <= 9 * GB
    lean = training_memory_bytes(
        shape, "qlora", adapter_params=adapters, seq_len=1024, checkpointing=True
    )
    assert 4 * GB <= lean.total_bytes <= 6 * GB
    with pytest.raises(InvalidInputError, match="QLoRA keeps the base weights quantized"):
        training_memory_bytes(shape, "qlora", dtype="bf16")


def test_checkpointing_trades_activation_memory() -> None:
    shape = model_shape("llama-3-8b")
    with_ckpt = training_memory_bytes(shape, "lora", seq_len=4096, checkpointing=True)
    without = training_memory_bytes(shape, "lora", seq_len=4096, checkpointing=False)
    assert with_ckpt.activations_bytes < without.activations_bytes / 5
    logits = 4 * 4096 * shape.vocab
    assert without.activations_bytes == pytest.approx(
        shape.layers * 34 * 4096 * shape.hidden + logits
    )


def test_kv_cache_formula_matches_reference_example() -> None:
    # Llama-3.1-8B bf16: 0.131 MB per token; 128 sequences × 1024 tokens ≈ 17.2 GB.
    shape = model_shape("llama-3-8b")
    assert kv_cache_bytes(shape, seq_len=1, batch=1) == 2 * 32 * 8 * 128 * 2 == 131_072
    assert kv_cache_bytes(shape, seq_len=1024, batch=128) == pytest.approx(17.18e9, rel=1e-3)
    assert kv_cache_bytes(shape, 1024, 128, kv_dtype="int8") == pytest.approx(8.59e9, rel=1e-3)


def test_sharding_spreads_all_but_the_replicated_part() -> None:
    m = MemoryEstimate(weights_bytes=100.0, activations_bytes=10.0, replicated_bytes=20.0)
    assert m.per_gpu_bytes(1) == 110.0
    assert m.per_gpu_bytes(9) == pytest.approx(90 / 9 + 20)
    with pytest.raises(InvalidInputError):
        m.per_gpu_bytes(0)
    assert set(m.breakdown_gib()) == {"weights", "activations", "total"}
