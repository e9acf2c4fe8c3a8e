"""Serving: decode bound by memory bandwidth, € per million tokens and € per month."""

from __future__ import annotations

import pytest

from cost_models import InvalidInputError, decode_rate, gpu_spec, model_shape, serving_cost


@pytest.mark.parametrize(
    ("gpu", "reference_bound"), [("L4", 19), ("A100-80GB", 125), ("H100", 209), ("H200", 299)]
)
def test_batch_1_decode_bound_matches_reference(gpu: str, reference_bound: float) -> None:
    # Reference §5, Llama-8B bf16 (16 GB), batch 1: L4 ≤ 19, A100 ≤ 125, H100 ≤ 209, H200 ≤ 299.
    rate = decode_rate(model_shape("llama-3-8b"), gpu_spec(gpu), seq_len=1, batch=1)
    assert rate.bandwidth_bound_tokens_per_second == pytest.approx(reference_bound, rel=0.05)
    assert rate.tokens_per_second == pytest.approx(rate.bandwidth_bound_tokens_per_second * 0.6)


def test_batching_raises_throughput_until_compute_bound() -> None:
    shape, h100 = model_shape("llama-3-8b"), gpu_spec("H100")
    one = decode_rate(shape, h100, batch=1, seq_len=1024)
    many = decode_rate(shape, h100, batch=64, seq_len=1024)
    assert many.tokens_per_second > 10 * one.tokens_per_second
    huge = decode_rate(shape, h100, batch=4096, seq_len=16)
    assert huge.tokens_per_second == pytest.approx(huge.compute_bound_tokens_per_second)


def test_serving_cost_per_token_and_month(catalog, fx) -> None:
    offer = catalog.offer("gpu_1x_h100_sxm5", region="europe-central-1")
    est = serving_cost(
        model_shape("llama-3-8b"), "bf16", offer, "on_demand", fx, 5e8, batch=8, seq_len=2048
    )
    hourly = 3.29 / 1.1435
    assert est.eur_per_hour == pytest.approx(hourly)
    assert est.eur_per_million_tokens == pytest.approx(
        hourly / (est.decode.tokens_per_second * 3600) * 1e6
    )
    capacity = est.decode.tokens_per_second * 3600 * 730
    assert est.replicas == max(1, -(-5e8 // capacity))
    assert est.eur_per_month == pytest.approx(est.replicas * 730 * hourly)
    more = serving_cost(
        model_shape("llama-3-8b"),
        "bf16",
        offer,
        "on_demand",
        fx,
        50 * capacity,
        batch=8,
        seq_len=2048,
    )
    assert more.replicas == 50


def test_serving_a_model_that_does_not_fit_fails(catalog, fx) -> None:
    offer = catalog.offer("gpu_1x_h100_sxm5", region="us-east-1")
    with pytest.raises(InvalidInputError, match="must fit in GPU memory, but llama-3-70b needs"):
        serving_cost(model_shape("llama-3-70b"), "bf16", offer, "on_demand", fx, 1e6)
    fits = serving_cost(model_shape("llama-3-70b"), "int4", offer, "on_demand", fx, 1e6)
    assert fits.memory.weights_bytes == pytest.approx(0.5 * model_shape("llama-3-70b").params)
