"""Commitment analysis: on-demand vs spot vs 1- and 3-year reservations over a usage horizon.

The model, month by month (m = 0 … months-1):

* **Market drift (obsolescence).** Equivalent compute gets cheaper: the market price in month m
  is ``price_now · (1 − price_decline_per_year) ** (m / 12)``. The default, 25%/yr, is inside the
  21–29%/yr decline in $/FLOP that Epoch measured (FLOP/s per $ doubling every 2.07–2.95 years;
  reference cloud-costs.md §3).
* **On-demand** pays the market price for the hours used.
* **Spot** pays the spot price (following the same drift) for the hours used plus the work redone
  after interruptions: each interruption loses on average half a checkpoint interval plus the
  restart time, so billed hours = used / (1 − rate · (interval/2 + restart)).
  Spot is only recommended for a workload marked ``interruptible``.
* **Reservations** are paid for every hour of every month of their term, used or not, at the price
  fixed when bought. A reservation that ends inside the horizon is renewed at the market price of
  that month with the same discount. A term running past the horizon is still owed: its months
  are counted in ``total_eur`` and shown in ``committed_beyond_horizon_eur``.

Break-even utilization of a reservation is the share of the month at which on-demand would cost
the same over the horizon: ``reserved_total / (hours_in_month · on_demand_now · Σ_m drift_m)``;
above 100% the reservation never pays off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cost_models._hours import HOURS_PER_MONTH
from cost_models._pricing_models import PricingModel
from cost_models.errors import InvalidInputError

#: The options compared are the pricing models.
OptionName = PricingModel

DEFAULT_PRICE_DECLINE_PER_YEAR = 0.25
# Assumed when the catalog row has no reserved price. Public GPU figures in the reference:
# a 2023 p4de 1-year RI at 26–38% off; "up to" 57% (GCP CUD), 66% (AWS Compute SP) and 72%
# (EC2 Instance SP), which are maxima for 3-year, all-upfront terms.
DEFAULT_RESERVED_DISCOUNT_1Y = 0.30
DEFAULT_RESERVED_DISCOUNT_3Y = 0.50
#: The longest horizon compared (20 years): beyond it the price-decline model means nothing, and
#: the month-by-month sums would run for as long as the horizon is long.
MAX_HORIZON_MONTHS = 240
#: Table headings of the options, one per pricing model.
OPTION_LABELS: dict[str, str] = {
    "on_demand": "On-demand",
    "spot": "Spot",
    "reserved_1y": "Reserved 1 yr",
    "reserved_3y": "Reserved 3 yr",
}
_TERM_MONTHS = {"reserved_1y": 12, "reserved_3y": 36}


@dataclass(frozen=True)
class OptionCost:
    """One way to buy the usage profile, totalled over the horizon."""

    option: OptionName
    eur_per_hour_now: float
    total_eur: float
    hours_billed: float
    price_source: str
    eligible: bool = True
    note: str = ""
    committed_beyond_horizon_eur: float = 0.0
    break_even_utilization: float | None = None

    @property
    def label(self) -> str:
        return OPTION_LABELS[self.option]


@dataclass(frozen=True)
class CommitmentComparison:
    """Totals per option, the recommendation and its one-sentence reason."""

    options: tuple[OptionCost, ...]
    hours_per_month: float
    months: int
    hours_in_month: float
    price_decline_per_year: float
    recommendation: OptionName
    reason: str

    @property
    def utilization(self) -> float:
        return self.hours_per_month / self.hours_in_month

    @property
    def market_factor_sum(self) -> float:
        """Σ over the horizon's months of the market price relative to today's."""
        return sum(market_drift(m, self.price_decline_per_year) for m in range(self.months))

    def option(self, name: OptionName) -> OptionCost:
        for option in self.options:
            if option.option == name:
                return option
        raise KeyError(name)

    @property
    def on_demand(self) -> OptionCost:
        return self.option("on_demand")

    @property
    def recommended(self) -> OptionCost:
        return self.option(self.recommendation)


def market_drift(month: int, price_decline_per_year: float) -> float:
    """Market price in ``month`` relative to today's."""
    return (1.0 - price_decline_per_year) ** (month / 12.0)


def compare_commitments(
    eur_per_hour_on_demand: float,
    *,
    hours_per_month: float,
    months: int,
    eur_per_hour_spot: float | None = None,
    spot_discount: float | None = None,
    interruption_rate_per_hour: float = 0.0,
    checkpoint_interval_hours: float = 1.0,
    restart_hours: float = 0.25,
    interruptible: bool = False,
    eur_per_hour_reserved_1y: float | None = None,
    eur_per_hour_reserved_3y: float | None = None,
    reserved_discount_1y: float = DEFAULT_RESERVED_DISCOUNT_1Y,
    reserved_discount_3y: float = DEFAULT_RESERVED_DISCOUNT_3Y,
    price_decline_per_year: float = DEFAULT_PRICE_DECLINE_PER_YEAR,
    hours_in_month: float = HOURS_PER_MONTH,
) -> CommitmentComparison:
    """Compare buying ``hours_per_month`` of one instance for ``months`` months (see module doc).

    Hourly prices are today's, in euros. A reserved price (e.g. from the catalog) wins over the
    matching discount. Spot is included when a spot price or discount is given.
    """
    _check_inputs(
        eur_per_hour_on_demand,
        hours_per_month,
        months,
        hours_in_month,
        price_decline_per_year,
        reserved_discount_1y,
        reserved_discount_3y,
        spot_discount,
        eur_per_hour_spot,
        interruption_rate_per_hour,
        checkpoint_interval_hours,
        restart_hours,
    )
    drift = [market_drift(m, price_decline_per_year) for m in range(months)]
    drift_sum = sum(drift)
    on_demand = OptionCost(
        "on_demand",
        eur_per_hour_on_demand,
        hours_per_month * eur_per_hour_on_demand * drift_sum,
        hours_per_month * months,
        "catalog",
    )
    options = [on_demand]

    spot = _spot_option(
        eur_per_hour_on_demand,
        eur_per_hour_spot,
        spot_discount,
        hours_per_month,
        months,
        drift_sum,
        interruption_rate_per_hour,
        checkpoint_interval_hours,
        restart_hours,
        interruptible,
    )
    if spot is not None:
        options.append(spot)

    reservations: tuple[tuple[OptionName, float | None, float], ...] = (
        ("reserved_1y", eur_per_hour_reserved_1y, reserved_discount_1y),
        ("reserved_3y", eur_per_hour_reserved_3y, reserved_discount_3y),
    )
    for name, price, discount in reservations:
        options.append(
            _reserved_option(
                name,
                price,
                discount,
                eur_per_hour_on_demand,
                months,
                hours_in_month,
                price_decline_per_year,
                drift_sum,
            )
        )

    recommendation = _recommend(options)
    comparison = CommitmentComparison(
        options=tuple(options),
        hours_per_month=hours_per_month,
        months=months,
        hours_in_month=hours_in_month,
        price_decline_per_year=price_decline_per_year,
        recommendation=recommendation.option,
        reason="",
    )
    return _with_reason(comparison)


def _spot_option(
    on_demand_now: float,
    spot_price: float | None,
    spot_discount: float | None,
    hours_per_month: float,
    months: int,
    drift_sum: float,
    rate: float,
    interval: float,
    restart: float,
    interruptible: bool,
) -> OptionCost | None:
    if spot_price is None and spot_discount is None:
        return None
    price = spot_price if spot_price is not None else on_demand_now * (1 - (spot_discount or 0.0))
    source = "catalog" if spot_price is not None else f"{spot_discount:.0%} discount"
    lost_fraction = rate * (interval / 2 + restart)
    eligible_note = "" if interruptible else "only for interruptible work"
    if lost_fraction >= 1:
        note = f"never finishes: {rate:g} interruptions/h undo more work than they leave"
        return OptionCost("spot", price, math.inf, math.inf, source, False, note)
    overhead = 1 / (1 - lost_fraction) - 1
    note = (
        f"+{overhead:.1%} hours redone after interruptions ({rate:g}/h)"
        if rate
        else "0 interruptions/h assumed"
    )
    if eligible_note:
        note = f"{note}; {eligible_note}"
    billed_per_month = hours_per_month * (1 + overhead)
    return OptionCost(
        "spot",
        price,
        billed_per_month * price * drift_sum,
        billed_per_month * months,
        source,
        eligible=interruptible,
        note=note,
    )


def _reserved_option(
    name: OptionName,
    price: float | None,
    discount: float,
    on_demand_now: float,
    months: int,
    hours_in_month: float,
    decline: float,
    drift_sum: float,
) -> OptionCost:
    term = _TERM_MONTHS[name]
    hourly_now = price if price is not None else on_demand_now * (1 - discount)
    source = "catalog" if price is not None else f"{discount:.0%} discount"
    total = 0.0
    beyond = 0.0
    for start in range(0, months, term):
        hourly = hourly_now * market_drift(start, decline)
        total += hourly * hours_in_month * term
        beyond += hourly * hours_in_month * max(start + term - months, 0)
    terms = math.ceil(months / term)
    note = "paid 24/7 whether used or not"
    if terms > 1:
        note += f"; renewed {terms - 1}× at the market price then"
    if beyond:
        note += f"; term runs {terms * term - months} months past the horizon"
    break_even = total / (hours_in_month * on_demand_now * drift_sum)
    return OptionCost(
        name,
        hourly_now,
        total,
        hours_in_month * term * terms,
        source,
        note=note,
        committed_beyond_horizon_eur=beyond,
        break_even_utilization=break_even,
    )


_PREFERENCE = {"on_demand": 0, "spot": 1, "reserved_1y": 2, "reserved_3y": 3}


def _recommend(options: list[OptionCost]) -> OptionCost:
    eligible = [o for o in options if o.eligible]
    # On a tie the option with less commitment wins.
    return min(eligible, key=lambda o: (round(o.total_eur, 6), _PREFERENCE[o.option]))


def _with_reason(c: CommitmentComparison) -> CommitmentComparison:
    winner = c.recommended
    od = c.on_demand
    u = c.utilization
    falling = (
        f"compute prices falling {c.price_decline_per_year:.0%}/yr"
        if c.price_decline_per_year
        else ""
    )
    reserved = [o for o in c.options if o.break_even_utilization is not None]
    horizon = f"over {c.months} months"

    if winner.break_even_utilization is not None:
        years = 1 if winner.option == "reserved_1y" else 3
        even = f" even with {falling}" if falling else ""
        reason = (
            f"The {years}-year reservation is cheapest: at {u:.0%} utilization you are above its "
            f"break-even of {winner.break_even_utilization:.0%}, so it costs "
            f"{_eur(winner.total_eur)} against {_eur(od.total_eur)} on demand {horizon}{even}."
        )
    elif winner.option == "spot":
        reason = (
            f"Spot is cheapest: {winner.note.split(';')[0]}, it costs {_eur(winner.total_eur)} "
            f"against {_eur(od.total_eur)} on demand {horizon}, and the workload is marked "
            "interruptible."
        )
    else:
        best = min(reserved, key=lambda o: o.total_eur)
        years = 1 if best.option == "reserved_1y" else 3
        be = best.break_even_utilization or 0.0
        if be > 1:
            average_now = (
                od.total_eur / (c.hours_per_month * c.months)
                if c.hours_per_month
                else od.eur_per_hour_now
            )
            why = f"with {falling}, " if falling else ""
            reason = (
                "On-demand is cheapest: no reservation pays off even at 100% use because, "
                f"{why}on-demand averages €{average_now:.2f}/h {horizon} while the {years}-year "
                f"reservation costs €{be * average_now:.2f} per hour used even around the clock."
            )
        else:
            tail = f", while on-demand follows {falling}" if falling else ""
            reason = (
                f"On-demand is cheapest: at {u:.0%} utilization you are below the {years}-year "
                f"reservation's break-even of {be:.0%}, and a reservation is paid 24/7 whether "
                f"used or not{tail}."
            )
        if winner.option == "on_demand" and any(
            o.option == "spot" and not o.eligible and o.total_eur < od.total_eur for o in c.options
        ):
            reason = reason[:-1] + " (spot would be cheaper for an interruptible workload)."
    return replace(c, reason=reason)


def _eur(amount: float) -> str:
    return f"€{amount:,.0f}"


def _check_inputs(
    on_demand: float,
    hours_per_month: float,
    months: int,
    hours_in_month: float,
    decline: float,
    discount_1y: float,
    discount_3y: float,
    spot_discount: float | None,
    spot_price: float | None,
    rate: float,
    interval: float,
    restart: float,
) -> None:
    if not (math.isfinite(on_demand) and on_demand > 0):
        raise InvalidInputError(f"An on-demand price must be > 0 €/h, but got {on_demand!r}.")
    if not (
        isinstance(months, int)
        and not isinstance(months, bool)
        and 1 <= months <= MAX_HORIZON_MONTHS
    ):
        raise InvalidInputError(
            f"A horizon must be a whole number of months in 1...{MAX_HORIZON_MONTHS}, but got "
            f"{months!r}."
        )
    if not (math.isfinite(hours_in_month) and hours_in_month > 0):
        raise InvalidInputError(f"Hours in a month must be > 0, but got {hours_in_month!r}.")
    if not (0 < hours_per_month <= hours_in_month):
        raise InvalidInputError(
            f"Hours per month must be > 0 and at most {hours_in_month:g} (one instance around the "
            f"clock), but got {hours_per_month!r}; compare one instance at a time."
        )
    for name, value in (
        ("price decline per year", decline),
        ("1-year reserved discount", discount_1y),
        ("3-year reserved discount", discount_3y),
    ):
        if not (0 <= value < 1):
            raise InvalidInputError(
                f"A {name} must be a fraction in [0, 1) (0.7 means 70%), but got {value!r}."
            )
    if spot_discount is not None and not (0 <= spot_discount < 1):
        raise InvalidInputError(
            f"A spot discount must be a fraction in [0, 1), but got {spot_discount!r}."
        )
    if spot_price is not None and not (0 < spot_price <= on_demand):
        raise InvalidInputError(
            f"A spot price must be > 0 and at most the on-demand price (€{on_demand:.4f}/h), but "
            f"got {spot_price!r}."
        )
    for name, value in (
        ("interruption rate per hour", rate),
        ("checkpoint interval (hours)", interval),
        ("restart time (hours)", restart),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise InvalidInputError(f"A {name} must be >= 0, but got {value!r}.")
