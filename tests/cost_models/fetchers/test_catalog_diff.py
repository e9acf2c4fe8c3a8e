"""diff_catalogs: offers matched by provider, instance type and region; prices by column."""

from __future__ import annotations

import dataclasses

import pytest

from cost_models import Offer
from cost_models.fetchers import diff_catalogs

BASE = Offer(
    provider="aws",
    instance_type="p5.48xlarge",
    region="us-east-1",
    gpu_model="H100",
    gpu_count=8,
    gpu_memory_gib=80,
    vcpus=192,
    ram_gib=2048,
    currency="USD",
    on_demand_per_hour=98.32,
    spot_per_hour=20.99,
    reserved_1y_per_hour=None,
    reserved_3y_per_hour=None,
    price_date="2025",
    source="old",
)


def _with(**changes) -> Offer:
    return dataclasses.replace(BASE, **changes)


def test_identical_catalogs_have_no_changes():
    diff = diff_catalogs([BASE], [_with(price_date="2026-11-26", source="new", notes="n")])
    assert diff.is_empty and diff.unchanged_offers == 1


def test_price_moves_carry_old_new_and_percent():
    (cut,) = diff_catalogs([BASE], [_with(on_demand_per_hour=63.296)]).price_changes
    assert (cut.column, cut.old, cut.new, cut.currency) == (
        "on_demand_per_hour",
        98.32,
        63.296,
        "USD",
    )
    assert cut.percent == pytest.approx(-35.62, abs=0.01)
    assert cut.to_json()["percent"] == -35.62


def test_known_to_unknown_and_back_are_changes_without_percent():
    changes = diff_catalogs(
        [BASE], [_with(spot_per_hour=None, reserved_1y_per_hour=61.9)]
    ).price_changes
    assert [(c.column, c.old, c.new, c.percent) for c in changes] == [
        ("spot_per_hour", 20.99, None, None),
        ("reserved_1y_per_hour", None, 61.9, None),
    ]


def test_float_noise_is_not_a_change():
    assert diff_catalogs([BASE], [_with(on_demand_per_hour=98.32 + 1e-12)]).is_empty


def test_added_and_removed_offers():
    other_region = _with(region="eu-north-1")
    diff = diff_catalogs([BASE], [other_region])
    assert diff.added == (other_region,) and diff.removed == (BASE,)


def test_offer_in_another_currency_is_removed_and_added_not_compared():
    in_eur = _with(currency="EUR", on_demand_per_hour=86.0)
    diff = diff_catalogs([BASE], [in_eur])
    assert diff.price_changes == () and diff.added == (in_eur,) and diff.removed == (BASE,)
