"""Property tests (hypothesis) of the cost model's invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cost_models import (
    ServingWorkload,
    approximate_shape,
    cheapest_instance,
    compare_commitments,
    load_catalog,
    load_fx_rates,
    serving_memory_bytes,
    training_memory_bytes,
    training_workload,
)

CATALOG = load_catalog()
FX = load_fx_rates()

params = st.floats(min_value=1e8, max_value=2e11)
tokens = st.floats(min_value=1e5, max_value=1e11)
methods = st.sampled_from(["lora", "qlora", "full"])
fraction = st.floats(min_value=0.0, max_value=0.95)
hourly = st.floats(min_value=0.05, max_value=200.0)


@settings(max_examples=25, deadline=None)
@given(n=st.floats(min_value=1e8, max_value=3e10), d1=tokens, d2=tokens, method=methods)
def test_more_tokens_never_cost_less(n: float, d1: float, d2: float, method: str) -> None:
    low, high = sorted((d1, d2))
    cheap = cheapest_instance(CATALOG, training_workload(n, low, method), FX, runners_up=0)
    dear = cheapest_instance(CATALOG, training_workload(n, high, method), FX, runners_up=0)
    assert dear.chosen.cost_eur >= cheap.chosen.cost_eur - 1e-6


@settings(max_examples=200, deadline=None)
@given(
    n1=params,
    n2=params,
    method=methods,
    seq=st.integers(128, 8192),
    batch=st.integers(1, 16),
    ckpt=st.booleans(),
)
def test_a_bigger_model_never_needs_less_memory(
    n1: float, n2: float, method: str, seq: int, batch: int, ckpt: bool
) -> None:
    small, big = sorted((n1, n2))
    kwargs = {"seq_len": seq, "batch": batch, "checkpointing": ckpt}
    assert (
        training_memory_bytes(big, method, **kwargs).total_bytes
        >= training_memory_bytes(small, method, **kwargs).total_bytes
    )
    assert (
        serving_memory_bytes(big, "bf16", seq, batch).total_bytes
        >= serving_memory_bytes(small, "bf16", seq, batch).total_bytes
    )


@settings(max_examples=200, deadline=None)
@given(
    price=hourly,
    h1=st.floats(0.01, 730),  # usage must be > 0 (compare_commitments refuses 0)
    h2=st.floats(0.01, 730),
    months=st.integers(1, 60),
    d1=fraction,
    d3=fraction,
    decline=st.floats(0.0, 0.9),
)
def test_reserved_cost_does_not_depend_on_usage(price, h1, h2, months, d1, d3, decline) -> None:
    kwargs = {
        "months": months,
        "reserved_discount_1y": d1,
        "reserved_discount_3y": d3,
        "price_decline_per_year": decline,
    }
    a = compare_commitments(price, hours_per_month=h1, **kwargs)
    b = compare_commitments(price, hours_per_month=h2, **kwargs)
    for name in ("reserved_1y", "reserved_3y"):
        assert a.option(name).total_eur == b.option(name).total_eur


@settings(max_examples=200, deadline=None)
@given(
    price=hourly,
    spot_share=st.floats(0.01, 1.0),
    hours=st.floats(0.01, 730),
    months=st.integers(1, 60),
    decline=st.floats(0.0, 0.9),
)
def test_spot_never_costs_more_than_on_demand_without_interruptions(
    price, spot_share, hours, months, decline
) -> None:
    c = compare_commitments(
        price,
        hours_per_month=hours,
        months=months,
        eur_per_hour_spot=price * spot_share,
        interruption_rate_per_hour=0.0,
        price_decline_per_year=decline,
    )
    assert c.option("spot").total_eur <= c.on_demand.total_eur * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(
    price=hourly,
    h1=st.floats(0.01, 730),  # usage must be > 0 (compare_commitments refuses 0)
    h2=st.floats(0.01, 730),
    months=st.integers(1, 60),
    decline=st.floats(0.0, 0.9),
)
def test_more_usage_never_costs_less_on_demand(price, h1, h2, months, decline) -> None:
    low, high = sorted((h1, h2))
    a = compare_commitments(
        price, hours_per_month=low, months=months, price_decline_per_year=decline
    )
    b = compare_commitments(
        price, hours_per_month=high, months=months, price_decline_per_year=decline
    )
    assert b.on_demand.total_eur >= a.on_demand.total_eur


@settings(max_examples=15, deadline=None)
@given(n1=st.floats(1e8, 3e10), n2=st.floats(1e8, 3e10))
def test_serving_a_bigger_model_never_needs_less_memory(n1: float, n2: float) -> None:
    small, big = sorted((n1, n2))
    a = ServingWorkload(approximate_shape(small), tokens_per_month=1e8).memory.total_bytes
    b = ServingWorkload(approximate_shape(big), tokens_per_month=1e8).memory.total_bytes
    assert b >= a
