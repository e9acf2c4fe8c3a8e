"""``sweeper commit``: on-demand vs spot vs 1- and 3-year reservations of one offer."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cost_models import (
    DEFAULT_PRICE_DECLINE_PER_YEAR,
    DEFAULT_RESERVED_DISCOUNT_1Y,
    DEFAULT_RESERVED_DISCOUNT_3Y,
    HOURS_PER_MONTH,
    MAX_HORIZON_MONTHS,
    OPTION_LABELS,
    CommitmentQuote,
    commitment_offer,
    load_catalog,
    load_gpu_specs,
    quote_commitment,
)
from cost_models.errors import InvalidInputError
from sweeper.cli._apps import app
from sweeper.cli.cost._options import CatalogOpt, FxFileOpt, FxUsdOpt, JsonOpt, load_fx
from sweeper.cli.cost._render import MISSING, add_columns, print_footer, print_json, wide_console


@app.command("commit")
def commit(
    hours_per_month: Annotated[
        float,
        typer.Option(
            "--hours-per-month",
            help=f"Hours a month the instance is busy ({HOURS_PER_MONTH:g} = around the clock).",
        ),
    ],
    months: Annotated[
        int,
        typer.Option(
            "--months",
            min=1,
            help=f"Horizon in months (1 to {MAX_HORIZON_MONTHS}).",
        ),
    ],
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="GPU model; the cheapest matching instance is used.")
    ] = None,
    instance: Annotated[str | None, typer.Option("--instance", help="Instance type.")] = None,
    gpu_count: Annotated[
        int | None,
        typer.Option("--gpu-count", min=1, help="GPUs per instance (default: the fewest offered)."),
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Provider.")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region (default: the cheapest on-demand one).")
    ] = None,
    reserved_discount: Annotated[
        float | None,
        typer.Option(
            "--reserved-discount",
            "--reserved-discount-3y",
            help="3-year reservation discount off on-demand, e.g. 0.7 for 70% (default: the "
            f"catalog's reserved price, else {DEFAULT_RESERVED_DISCOUNT_3Y:.0%}).",
        ),
    ] = None,
    reserved_discount_1y: Annotated[
        float | None,
        typer.Option(
            "--reserved-discount-1y",
            help="1-year reservation discount (default: the catalog's reserved price, else "
            f"{DEFAULT_RESERVED_DISCOUNT_1Y:.0%}).",
        ),
    ] = None,
    price_decline_per_year: Annotated[
        float,
        typer.Option(
            "--price-decline-per-year",
            help="Yearly fall of the market price of equivalent compute, e.g. 0.25.",
        ),
    ] = DEFAULT_PRICE_DECLINE_PER_YEAR,
    interruptible: Annotated[
        bool, typer.Option("--interruptible", help="The workload checkpoints and may run on spot.")
    ] = False,
    interruptions_per_hour: Annotated[
        float, typer.Option("--interruptions-per-hour", help="Spot interruptions per running hour.")
    ] = 0.0,
    checkpoint_interval_hours: Annotated[
        float, typer.Option("--checkpoint-interval-hours", help="Hours between checkpoints (spot).")
    ] = 1.0,
    restart_hours: Annotated[
        float,
        typer.Option("--restart-hours", help="Hours to restart after an interruption (spot)."),
    ] = 0.25,
    catalog_path: CatalogOpt = None,
    fx_usd_per_eur: FxUsdOpt = None,
    fx_file: FxFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """On-demand vs spot vs 1- and 3-year reservations over a horizon, as market prices fall."""
    fx = load_fx(fx_usd_per_eur, fx_file)
    catalog = load_catalog(catalog_path)
    if bool(gpu) == bool(instance):
        raise InvalidInputError("Give exactly one of --gpu or --instance.")
    offer = commitment_offer(
        catalog,
        gpu=gpu,
        instance=instance,
        gpu_count=gpu_count,
        provider=provider,
        region=region,
        known_gpus=load_gpu_specs(),
    )
    quote = quote_commitment(
        offer,
        fx,
        catalog,
        hours_per_month=hours_per_month,
        months=months,
        reserved_discount_1y=reserved_discount_1y,
        reserved_discount_3y=reserved_discount,
        discount_names=("--reserved-discount-1y", "--reserved-discount"),
        price_decline_per_year=price_decline_per_year,
        interruptible=interruptible,
        interruptions_per_hour=interruptions_per_hour,
        checkpoint_interval_hours=checkpoint_interval_hours,
        restart_hours=restart_hours,
    )
    if as_json:
        print_json(quote.to_dict())
        return
    console = wide_console()
    _render_commit(console, quote)
    print_footer(console, fx, catalog, [offer])


def _render_commit(console: Console, quote: CommitmentQuote) -> None:
    c, offer, on_demand_eur = quote.comparison, quote.offer, quote.on_demand_eur_per_hour
    console.print(
        f"[bold]Commitment comparison[/bold] for {offer.label}, {offer.gpu_count}× "
        f"{offer.gpu_model}: {c.hours_per_month:g} h/month ({c.utilization:.0%} of "
        f"{c.hours_in_month:g} h) for {c.months} months"
    )
    console.print(
        f"On-demand today: €{on_demand_eur:.4f}/h = €{on_demand_eur * c.hours_in_month:,.0f} per "
        f"month around the clock, €{on_demand_eur * c.hours_per_month:,.0f} per month at this "
        "usage."
    )
    drift = (
        f"Market prices fall {c.price_decline_per_year:.0%}/yr: on-demand and spot follow them, a "
        "reservation stays at its purchase price and is renewed at the market price of its "
        "renewal month."
        if c.price_decline_per_year
        else "Market prices assumed flat (--price-decline-per-year 0)."
    )
    console.print(drift)
    table = Table(title=f"Total over {c.months} months, in euros", title_justify="left")
    add_columns(
        table,
        ["Option"],
        ["€/h today", "Total €", "vs on-demand", "Break-even utilization"],
        [],
        ["Price from", "Note"],
    )
    od_total = c.on_demand.total_eur
    for o in c.options:
        total = "never" if math.isinf(o.total_eur) else f"{o.total_eur:,.0f}"
        versus = (
            MISSING
            if o.option == "on_demand" or math.isinf(o.total_eur)
            else f"{o.total_eur / od_total - 1:+.0%}"
        )
        be = MISSING
        if o.break_even_utilization is not None:
            be = (
                f"{o.break_even_utilization:.0%}"
                if o.break_even_utilization <= 1
                else f"never ({o.break_even_utilization:.0%})"
            )
        mark = " ◀" if o.option == c.recommendation else ""
        table.add_row(
            f"{OPTION_LABELS[o.option]}{mark}",
            f"{o.eur_per_hour_now:.4f}",
            total,
            versus,
            be,
            quote.price_source(o),
            o.note,
        )
    console.print(table)
    console.print(f"[bold]Recommendation: {OPTION_LABELS[c.recommendation]}.[/bold] {c.reason}")
    console.print(
        f"Break-even utilization = reservation total ÷ (€{on_demand_eur:.4f}/h on-demand today × "
        f"{c.hours_in_month:g} h × {c.market_factor_sum:.4f}, the sum of the {c.months} monthly "
        "market price factors); at or above it the reservation is cheaper than on-demand."
    )
