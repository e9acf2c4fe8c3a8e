"""``sweeper prices list``: GPU instance prices in euros, one row per offer."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cost_models import HOURS_PER_MONTH, load_catalog, load_gpu_specs, price_list
from sweeper.cli._apps import prices_app
from sweeper.cli.cost._options import (
    CatalogOpt,
    FxFileOpt,
    FxUsdOpt,
    JsonOpt,
    ProviderOpt,
    RegionOpt,
    load_fx,
)
from sweeper.cli.cost._render import (
    MISSING,
    add_columns,
    money,
    num,
    print_footer,
    print_json,
    wide_console,
)


@prices_app.command("list")
def prices_list(
    gpu: Annotated[
        list[str] | None, typer.Option("--gpu", help="Only this GPU model (repeatable).")
    ] = None,
    provider: ProviderOpt = None,
    region: RegionOpt = None,
    notes: Annotated[
        bool, typer.Option("--notes", help="Also print each offer's source and notes.")
    ] = False,
    catalog_path: CatalogOpt = None,
    fx_usd_per_eur: FxUsdOpt = None,
    fx_file: FxFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """GPU instance prices in euros: on-demand, spot and reserved per hour, on-demand per month."""
    fx = load_fx(fx_usd_per_eur, fx_file)
    catalog = load_catalog(catalog_path)
    prices = price_list(
        catalog, fx, providers=provider, regions=region, gpus=gpu, known_gpus=load_gpu_specs()
    )
    if as_json:
        print_json(prices.to_dict())
        return

    console = wide_console()
    offers = prices.offers
    if not offers:
        console.print("No catalog offer matches these filters.")
        print_footer(console, fx, catalog, offers)
        return
    table = Table(
        title=f"GPU instance prices in euros ({len(offers)} offers)", title_justify="left"
    )
    add_columns(
        table,
        ["Provider", "Instance", "Region", "GPUs"],
        ["GPU mem GiB", "vCPU", "RAM GiB", "On-demand €/h", "Spot €/h", "1-yr res. €/h"],
        ["3-yr res. €/h", "On-demand €/month"],
        ["Price date"],
    )
    for row in prices.rows:
        offer, eur = row.offer, row.eur_per_hour
        table.add_row(
            offer.provider,
            offer.instance_type,
            offer.region,
            f"{offer.gpu_count}× {offer.gpu_model}",
            f"{offer.total_gpu_memory_gib:g}",
            num(offer.vcpus),
            num(offer.ram_gib),
            money(eur["on_demand"], 4),
            money(eur["spot"], 4),
            money(eur["reserved_1y"], 4),
            money(eur["reserved_3y"], 4),
            money(row.on_demand_eur_per_month, 0),
            offer.price_date,
        )
    console.print(table)
    if notes:
        for offer in offers:
            console.print(
                f"[bold]{offer.label}[/bold]: {offer.notes} Source: {offer.source}.",
                highlight=False,
            )
    console.print(
        f"€/month = on-demand €/h × {HOURS_PER_MONTH:g} h. {MISSING} = no such price in the "
        "catalog (--notes says why). Reserved = effective hourly rate with upfront folded in.",
        highlight=False,
    )
    print_footer(console, fx, catalog, offers)
