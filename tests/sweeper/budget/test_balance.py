"""The pure arithmetic: amounts in micro-euros, and what a balance admits."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sweeper.budget import (
    Balance,
    InvalidAmountError,
    overrun_bound_micro_eur,
    to_eur,
    to_micro_eur,
)
from sweeper.errors import SweeperError

budgets = st.integers(min_value=0, max_value=10**9)
estimates = st.integers(min_value=1, max_value=10**8)


@given(budget=budgets, asked=st.lists(estimates, max_size=60))
def test_admitted_reservations_never_sum_past_the_budget(budget: int, asked: list[int]) -> None:
    balance = Balance(budget)
    admitted = []
    for estimate in asked:
        if balance.admits(estimate):
            balance = balance.reserve(estimate)
            admitted.append(estimate)
    assert sum(admitted) <= budget
    assert balance.remaining_micro_eur == budget - sum(admitted) >= 0


@given(budget=budgets, asked=st.lists(estimates, max_size=60))
def test_a_refused_estimate_is_more_than_what_remains(budget: int, asked: list[int]) -> None:
    balance = Balance(budget)
    for estimate in asked:
        if balance.admits(estimate):
            balance = balance.reserve(estimate)
        else:
            assert estimate > balance.remaining_micro_eur


# A trial: (estimate, actual factor in percent, settle after how many later reservations).
trial_plans = st.tuples(estimates, st.integers(min_value=0, max_value=300), st.integers(0, 4))


@given(budget=budgets, plans=st.lists(trial_plans, max_size=40))
def test_spend_passes_the_budget_by_at_most_the_overruns_in_flight_at_the_last_admission(
    budget: int, plans: list[tuple[int, int, int]]
) -> None:
    balance = Balance(budget)
    open_trials: list[tuple[int, int, int]] = []  # (estimate, actual, settles after n more)
    in_flight_at_last_admission: list[tuple[int, int]] = []
    for estimate, factor_percent, delay in plans:
        for trial in [t for t in open_trials if t[2] <= 0]:
            balance = balance.settle(trial[0], trial[1])
            open_trials.remove(trial)
        open_trials = [(e, a, d - 1) for e, a, d in open_trials]
        if balance.admits(estimate):
            balance = balance.reserve(estimate)
            open_trials.append((estimate, estimate * factor_percent // 100, delay))
            in_flight_at_last_admission = [(e, a) for e, a, _ in open_trials]
    for estimate, actual, _ in open_trials:
        balance = balance.settle(estimate, actual)
    assert balance.reserved_micro_eur == 0
    assert balance.spent_micro_eur <= budget + overrun_bound_micro_eur(in_flight_at_last_admission)


def test_release_gives_the_estimate_back() -> None:
    balance = Balance(10).reserve(7)
    assert not balance.admits(4)
    assert balance.release(7).admits(10)


def test_an_estimate_equal_to_what_remains_fits() -> None:
    assert Balance(10, spent_micro_eur=3, reserved_micro_eur=2).admits(5)
    assert not Balance(10, spent_micro_eur=3, reserved_micro_eur=2).admits(6)


def test_remaining_goes_negative_when_trials_overran() -> None:
    balance = Balance(10).reserve(10).settle(10, 13)
    assert balance.remaining_micro_eur == -3
    assert not balance.admits(1)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_amounts_round_to_the_nearest_micro_euro(amount_eur: float) -> None:
    assert (
        abs(to_eur(to_micro_eur(amount_eur, name="x", allow_zero=True)) - amount_eur)
        <= 0.5e-6 + 1e-9 * amount_eur
    )


@pytest.mark.parametrize("bad", [-0.01, math.nan, math.inf, "3", None, True])
def test_amounts_that_cannot_be_booked_are_refused_with_their_value(bad: object) -> None:
    with pytest.raises(InvalidAmountError, match="estimate_eur") as info:
        to_micro_eur(bad, name="estimate_eur", allow_zero=False)  # type: ignore[arg-type]
    assert isinstance(info.value, SweeperError)
    assert repr(bad) in str(info.value)


def test_an_estimate_must_be_at_least_a_micro_euro() -> None:
    with pytest.raises(InvalidAmountError, match=r"at least 1e-6 EUR.*estimate_eur=0"):
        to_micro_eur(0, name="estimate_eur", allow_zero=False)
    assert to_micro_eur(0, name="actual_eur", allow_zero=True) == 0
