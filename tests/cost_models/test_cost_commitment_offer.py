"""What `sweeper commit` prices: the offer chosen, the spot rule, the quote's JSON."""

from __future__ import annotations

import dataclasses

import pytest

from cost_models import (
    InvalidInputError,
    PriceUnknownError,
    UnknownGpuError,
    commitment_offer,
    commitment_prices,
    eur_per_hour,
    gpu_hours_by_gpu,
    load_gpu_specs,
    quote_commitment,
    usable_spot_eur_per_hour,
)


def test_spot_above_on_demand_is_never_bought() -> None:
    assert usable_spot_eur_per_hour(2.0, 1.5) is None
    assert usable_spot_eur_per_hour(None, 1.5) is None
    assert usable_spot_eur_per_hour(1.5, 1.5) == 1.5
    assert usable_spot_eur_per_hour(0.5, 1.5) == 0.5


def test_commitment_prices_apply_the_spot_rule(catalog, fx) -> None:
    offer = catalog.offer("Standard_NC24ads_A100_v4", region="eastus")
    on_demand = eur_per_hour(offer, "on_demand", fx)
    dearer_spot = dataclasses.replace(offer, spot_per_hour=offer.on_demand_per_hour * 2)
    prices = commitment_prices(dearer_spot, fx)
    assert prices.on_demand_eur_per_hour == pytest.approx(on_demand)
    assert prices.spot_eur_per_hour is None
    with pytest.raises(PriceUnknownError):
        commitment_prices(dataclasses.replace(offer, on_demand_per_hour=None), fx)


def test_the_cheapest_offer_of_the_fewest_gpus(catalog) -> None:
    offer = commitment_offer(catalog, gpu="a100 80gb", known_gpus=load_gpu_specs())
    same = [
        o
        for o in catalog.all_offers()
        if o.gpu_model == offer.gpu_model and o.on_demand_per_hour is not None
    ]
    assert offer.gpu_count == min(o.gpu_count for o in same)
    assert offer.on_demand_per_hour == min(
        o.on_demand_per_hour for o in same if o.gpu_count == offer.gpu_count
    )


def test_no_offer_at_that_size_is_refused_by_name(catalog) -> None:
    with pytest.raises(InvalidInputError, match=r"on-demand A100-80GB offer with 3 GPUs, but the"):
        commitment_offer(catalog, gpu="A100-80GB", gpu_count=3, known_gpus=load_gpu_specs())
    with pytest.raises(UnknownGpuError, match="Did you mean"):
        commitment_offer(catalog, gpu="A10O", known_gpus=load_gpu_specs())


def test_quote_names_where_each_reserved_price_comes_from(catalog, fx) -> None:
    offer = catalog.offer("Standard_NC24ads_A100_v4", region="eastus")
    quote = quote_commitment(
        offer,
        fx,
        catalog,
        hours_per_month=730,
        months=36,
        reserved_discount_3y=0.7,
        discount_names=("1y flag", "3y flag"),
    )
    data = quote.to_dict()
    sources = {o["option"]: o["price_source"] for o in data["options"]}
    assert sources["reserved_3y"] == "3y flag 70%"
    assert sources["reserved_1y"].startswith(("catalog", "default discount"))
    assert data["price_dates"] == [offer.price_date]
    assert list(data)[-3:] == ["fx", "catalog", "price_dates"]


def test_gpu_hours_table_fastest_first_at_the_given_mfu() -> None:
    rows = gpu_hours_by_gpu(1e18, load_gpu_specs().values(), "lora", mfu=0.5)
    assert rows and all(r.mfu == 0.5 for r in rows)
    assert [r.bf16_tflops for r in rows] == sorted((r.bf16_tflops for r in rows), reverse=True)
    fastest = rows[0]
    assert fastest.gpu_hours == pytest.approx(1e18 / (fastest.bf16_tflops * 1e12 * 0.5) / 3600)
    assert list(fastest.to_dict()) == ["gpu", "bf16_tflops", "mfu", "gpu_hours"]
