"""``sweeper prices refresh <price source>|ecb``: live prices or EUR rates into a new dated file.

The price sources are the registered fetchers (``cost_models.fetchers.PRICE_FETCHERS``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cost_models.errors import CostModelError
from cost_models.fetchers import available_price_fetchers
from sweeper.cli._apps import prices_app

_PRICE_SOURCES = tuple(available_price_fetchers())
_SOURCES_IN_WORDS = " or ".join(repr(s) for s in _PRICE_SOURCES)

if TYPE_CHECKING:
    from cost_models.fetchers import FxRefreshResult, RefreshResult

FX_SOURCE = "ecb"
_PRICE_LABELS = {
    "on_demand_per_hour": "on-demand",
    "spot_per_hour": "spot",
    "reserved_1y_per_hour": "reserved 1y",
    "reserved_3y_per_hour": "reserved 3y",
}
_OUTCOME_VERBS = {
    "written": "wrote",
    "replaced": "replaced",
    "unchanged": "unchanged, already holds",
}


@prices_app.command("refresh")
def refresh_command(
    source: Annotated[
        str,
        typer.Argument(
            help=f"What to refresh: {_SOURCES_IN_WORDS} (instance prices), 'ecb' (EUR exchange "
            "rates).",
            metavar="|".join([*_PRICE_SOURCES, "ecb"]),
            show_default=False,
        ),
    ],
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-r",
            metavar="REGION",
            help="Region to fetch (repeatable). Default: the regions of the previous catalog.",
        ),
    ] = None,
    instance_type: Annotated[
        list[str] | None,
        typer.Option(
            "--instance-type",
            "-i",
            metavar="TYPE",
            help="Instance type / VM size to fetch (repeatable). "
            "Default: those of the previous catalog.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="PATH",
            help="File or directory to write. Default: $SWEEPER_CACHE_DIR (or "
            "~/.cache/llm-cost-sweeper)/catalogs/v1/<provider>-<date>.csv, or for ecb "
            "fx/eurofxref-daily-<date>.xml.",
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            metavar="PATH",
            help="Previous catalog (or ECB rates file) to compare with; for a price source its "
            "instance types and regions are the default scope. Default: the bundled one.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing file that an earlier refresh wrote. "
            "Files you edited are never replaced.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result and the changes as JSON.")
    ] = False,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            metavar="URL",
            help="Use this API endpoint instead of the public one (proxy, mirror, test server).",
        ),
    ] = None,
) -> None:
    """Fetch live prices (or ECB rates) into a new dated file and show what changed.

    Prices are per instance-hour in the API's currency (USD); reserved prices are effective
    hourly rates with any upfront fee folded in. Nothing you edited is ever overwritten.
    """
    from cost_models import fetchers

    if source == FX_SOURCE:
        if region or instance_type:
            raise CostModelError(
                f"--region and --instance-type apply to {' and '.join(_PRICE_SOURCES)}, not to ecb"
            )
        fx_result = fetchers.refresh_ecb_rates(
            url=endpoint_url or fetchers.ECB_DAILY_URL, out_path=out, against=against, force=force
        )
        if as_json:
            _print_json(fx_result.to_json())
        else:
            _show_fx(fx_result)
        return

    if source not in fetchers.available_price_fetchers():
        choices = [*fetchers.available_price_fetchers(), FX_SOURCE]
        raise fetchers.UnknownPriceSourceError.among(source, choices)
    fetcher = fetchers.price_fetcher_class(source)(endpoint_url=endpoint_url)
    with Console(stderr=True).status(f"Fetching {source} prices from {fetcher.api_name}..."):
        result = fetchers.refresh_catalog(
            fetcher,
            instance_types=instance_type or (),
            regions=region or (),
            out_path=out,
            against=against,
            force=force,
        )
    if as_json:
        _print_json(result.to_json())
    else:
        _show_catalog(result)


def _show_catalog(result: RefreshResult) -> None:
    console = Console()
    say = functools.partial(_say, console)
    scope = result.scope
    say(
        f"{result.provider}: {_count(result.fetched_offers, 'offer')} priced, asked for "
        f"{_count(len(scope.instance_types), 'instance type')} in "
        f"{_count(len(scope.regions), 'region')}; prices of {scope.price_date}"
    )
    say(f"{_OUTCOME_VERBS[result.outcome.value]} {result.path}")
    if result.carried_over_offers:
        say(f"kept {_count(result.carried_over_offers, 'offer')} outside that scope unchanged")
    if result.instance_types_without_prices:
        say(f"no prices found for {', '.join(result.instance_types_without_prices)}", "yellow")
    if result.instance_types_without_specs:
        say(
            f"left out {', '.join(result.instance_types_without_specs)}: GPU unknown (add a row "
            "for it to a catalog and refresh --against that catalog)",
            "yellow",
        )
    diff = result.diff
    if result.compared_with is None:
        say("no previous catalog to compare with (pass --against PATH)")
        return
    say(f"compared with {result.compared_with}:")
    say(
        f"  {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{_count(len(diff.price_changes), 'price change')}, {diff.unchanged_offers} unchanged"
    )
    if diff.price_changes:
        table = Table(title="Price changes (per instance-hour)", title_justify="left")
        for column in ("Instance", "Region", "Price", "Old", "New", "Change"):
            table.add_column(
                column, justify="right" if column in ("Old", "New", "Change") else "left"
            )
        for change in diff.price_changes:
            _, instance, region = change.key
            table.add_row(
                instance,
                region,
                _PRICE_LABELS[change.column],
                _money(change.old, change.currency),
                _money(change.new, change.currency),
                _change(change.old, change.new, change.percent),
            )
        console.print(table)
    for title, rows in (("Added offers", diff.added), ("Removed offers", diff.removed)):
        if not rows:
            continue
        table = Table(title=f"{title} (per instance-hour)", title_justify="left")
        for column in ("Instance", "Region", *_PRICE_LABELS.values()):
            table.add_column(
                column, justify="left" if column in ("Instance", "Region") else "right"
            )
        for offer in rows:
            prices = [_money(getattr(offer, column), offer.currency) for column in _PRICE_LABELS]
            table.add_row(offer.instance_type, offer.region, *prices)
        console.print(table)


def _show_fx(result: FxRefreshResult) -> None:
    console = Console()
    say = functools.partial(_say, console)
    rates = result.rates
    usd = rates.units_per_eur.get("USD")
    usd_text = f", 1 EUR = {usd:g} USD" if usd is not None else ""
    currencies = len(rates.units_per_eur) - ("EUR" in rates.units_per_eur)
    say(f"ecb: {currencies} reference rates of {rates.date}{usd_text}")
    say(f"{_OUTCOME_VERBS[result.outcome.value]} {result.path}")
    if result.compared_with is None or result.previous is None:
        say("no earlier rates file to compare with (pass --against PATH)")
        return
    say(f"compared with {result.compared_with} (rates of {result.previous.date}):")
    say(f"  {_count(len(result.changes), 'rate')} changed")
    if result.changes:
        table = Table(title="Rate changes (units per EUR)", title_justify="left")
        for column in ("Currency", "Old", "New", "Change"):
            table.add_column(column, justify="left" if column == "Currency" else "right")
        for change in result.changes:
            table.add_row(
                change.currency,
                "–" if change.old is None else f"{change.old:g}",
                "–" if change.new is None else f"{change.new:g}",
                _percent(change.percent),
            )
        console.print(table)


def _say(console: Console, text: str, style: str | None = None) -> None:
    """One line of plain text: paths and names are never read as markup or wrapped mid-word."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _money(amount: float | None, currency: str) -> str:
    return "–" if amount is None else f"{amount:,.4f} {currency}"


def _change(old: float | None, new: float | None, percent: float | None) -> str:
    if old is None:
        return "new price"
    if new is None:
        return "no price now"
    return _percent(percent)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _percent(percent: float | None) -> str:
    return "–" if percent is None else f"{percent:+.1f}%"


def _print_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, indent=2))
