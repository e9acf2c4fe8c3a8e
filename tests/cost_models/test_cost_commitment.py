"""Commitment analysis: the talk's claims both ways, break-even by hand, obsolescence, spot."""

from __future__ import annotations

import math

import pytest

from cost_models import (
    DEFAULT_PRICE_DECLINE_PER_YEAR,
    InvalidInputError,
    compare_commitments,
    eur_per_hour,
    market_drift,
)

HOURS = 730.0


@pytest.fixture
def azure_a100_eur(catalog, fx) -> float:
    return eur_per_hour(catalog.offer("Standard_NC24ads_A100_v4", region="eastus"), "on_demand", fx)


def test_talk_monthly_figures(catalog, fx, azure_a100_eur: float) -> None:
    # "An A100 on Azure costs over €2,000 a month" and "a 4×A100 80GB machine about €10,000".
    assert azure_a100_eur * HOURS > 2000
    assert azure_a100_eur * HOURS == pytest.approx(2345, abs=1)
    four = eur_per_hour(catalog.offer("Standard_NC96ads_A100_v4"), "on_demand", fx) * HOURS
    assert four == pytest.approx(9379, abs=1)
    assert 9000 <= four <= 11000


def test_three_year_reservation_at_70_percent_wins_around_the_clock(azure_a100_eur: float) -> None:
    c = compare_commitments(
        azure_a100_eur, hours_per_month=730, months=36, reserved_discount_3y=0.7
    )
    assert c.recommendation == "reserved_3y"
    assert c.option("reserved_3y").total_eur < c.on_demand.total_eur
    assert "above its break-even" in c.reason and c.reason.count(".") <= 3


def test_three_year_reservation_loses_for_a_few_hours_a_day(azure_a100_eur: float) -> None:
    c = compare_commitments(
        azure_a100_eur, hours_per_month=3 * 30, months=36, reserved_discount_3y=0.7
    )
    assert c.recommendation == "on_demand"
    assert c.utilization < c.option("reserved_3y").break_even_utilization
    assert "below the 3-year reservation's break-even" in c.reason


def test_three_year_reservation_loses_when_prices_fall_fast_enough(azure_a100_eur: float) -> None:
    c = compare_commitments(
        azure_a100_eur,
        hours_per_month=730,
        months=36,
        reserved_discount_3y=0.7,
        price_decline_per_year=0.75,
    )
    assert c.recommendation == "on_demand"
    assert c.option("reserved_3y").break_even_utilization > 1
    assert "no reservation pays off even at 100% use" in c.reason


def test_break_even_equals_a_hand_calculation() -> None:
    p0, discount, decline, months = 3.2121, 0.7, 0.25, 36
    c = compare_commitments(
        p0,
        hours_per_month=200,
        months=months,
        reserved_discount_3y=discount,
        price_decline_per_year=decline,
    )
    drift_sum = sum((1 - decline) ** (m / 12) for m in range(months))
    reserved_total = p0 * (1 - discount) * HOURS * 36
    assert c.option("reserved_3y").total_eur == pytest.approx(reserved_total)
    expected = reserved_total / (HOURS * p0 * drift_sum)
    assert c.option("reserved_3y").break_even_utilization == pytest.approx(expected)
    # With flat prices the break-even is simply 1 − discount.
    flat = compare_commitments(
        p0, hours_per_month=200, months=36, reserved_discount_3y=discount, price_decline_per_year=0
    )
    assert flat.option("reserved_3y").break_even_utilization == pytest.approx(0.3)
    # At exactly the break-even utilization both cost the same.
    at_be = compare_commitments(
        p0,
        hours_per_month=expected * HOURS,
        months=months,
        reserved_discount_3y=discount,
        price_decline_per_year=decline,
    )
    assert at_be.on_demand.total_eur == pytest.approx(at_be.option("reserved_3y").total_eur)


def test_on_demand_follows_the_market_and_reservations_renew_at_it() -> None:
    p0 = 10.0
    c = compare_commitments(
        p0, hours_per_month=100, months=36, reserved_discount_1y=0.3, price_decline_per_year=0.2
    )
    assert c.on_demand.total_eur == pytest.approx(
        sum(100 * p0 * 0.8 ** (m / 12) for m in range(36))
    )
    one_year = c.option("reserved_1y")
    assert one_year.total_eur == pytest.approx(HOURS * 12 * p0 * 0.7 * (1 + 0.8 + 0.64))
    assert "renewed 2×" in one_year.note
    assert market_drift(12, 0.2) == pytest.approx(0.8)


def test_a_term_past_the_horizon_is_still_owed() -> None:
    c = compare_commitments(
        5.0, hours_per_month=730, months=12, reserved_discount_3y=0.5, price_decline_per_year=0
    )
    three = c.option("reserved_3y")
    assert three.total_eur == pytest.approx(5.0 * 0.5 * HOURS * 36)
    assert three.committed_beyond_horizon_eur == pytest.approx(5.0 * 0.5 * HOURS * 24)
    assert "24 months past the horizon" in three.note


def test_catalog_reserved_price_beats_the_discount() -> None:
    c = compare_commitments(
        10.0, hours_per_month=730, months=12, eur_per_hour_reserved_1y=6.0, reserved_discount_1y=0.1
    )
    assert c.option("reserved_1y").eur_per_hour_now == 6.0
    assert c.option("reserved_1y").price_source == "catalog"


def test_spot_with_interruptions() -> None:
    c = compare_commitments(
        10.0,
        hours_per_month=100,
        months=12,
        eur_per_hour_spot=3.0,
        interruption_rate_per_hour=0.1,
        checkpoint_interval_hours=2.0,
        restart_hours=0.5,
        interruptible=True,
        price_decline_per_year=0,
    )
    spot = c.option("spot")
    lost = 0.1 * (2.0 / 2 + 0.5)
    assert spot.hours_billed == pytest.approx(100 * 12 / (1 - lost))
    assert spot.total_eur == pytest.approx(3.0 * 100 * 12 / (1 - lost))
    assert c.recommendation == "spot" and "interruptible" in c.reason
    never = compare_commitments(
        10.0,
        hours_per_month=100,
        months=12,
        spot_discount=0.7,
        interruption_rate_per_hour=2,
        interruptible=True,
    )
    assert math.isinf(never.option("spot").total_eur) and not never.option("spot").eligible


def test_spot_is_not_recommended_unless_interruptible() -> None:
    c = compare_commitments(
        10.0, hours_per_month=730, months=36, spot_discount=0.8, reserved_discount_3y=0.7
    )
    assert c.option("spot").total_eur < c.option("reserved_3y").total_eur
    assert c.recommendation == "reserved_3y"


def test_defaults_are_inputs_not_constants() -> None:
    assert DEFAULT_PRICE_DECLINE_PER_YEAR == 0.25
    a = compare_commitments(10.0, hours_per_month=730, months=36)
    b = compare_commitments(
        10.0, hours_per_month=730, months=36, reserved_discount_3y=0.6, price_decline_per_year=0.1
    )
    assert a.option("reserved_3y").total_eur != b.option("reserved_3y").total_eur
    assert a.price_decline_per_year == 0.25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reserved_discount_3y": 70}, r"fraction in \[0, 1\) \(0.7 means 70%\)"),
        ({"hours_per_month": 1000}, "> 0 and at most 730"),
        # No usage: nothing to compare (the CLI divided by a zero on-demand total).
        ({"hours_per_month": 0}, "> 0 and at most 730"),
        ({"hours_per_month": float("nan")}, "> 0 and at most 730"),
        ({"months": 0}, r"whole number of months in 1\.\.\.240"),
        # A horizon of a billion months summed month by month: the CLI hung.
        ({"months": 1_000_000_000}, r"whole number of months in 1\.\.\.240"),
        ({"months": True}, "whole number of months"),
        ({"eur_per_hour_spot": 20.0}, "at most the on-demand price"),
        ({"price_decline_per_year": 1.0}, "price decline per year must be a fraction"),
    ],
)
def test_invalid_inputs_state_the_rule(kwargs: dict, message: str) -> None:
    args = {"hours_per_month": 100, "months": 12} | kwargs
    with pytest.raises(InvalidInputError, match=message):
        compare_commitments(10.0, **args)
