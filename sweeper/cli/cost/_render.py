"""How the cost commands print: a console sized for pipes, JSON, tables, money, the footer."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from cost_models import Catalog, FxRates, Offer

#: Printed where the catalog has no such price.
MISSING = "–"


def wide_console() -> Console:
    # Wide when not a terminal (pipes, tests) so tables are never folded into unreadable columns.
    return Console(width=None if sys.stdout.isatty() else 220, highlight=False)


def print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def print_footer(out: Console, fx: FxRates, catalog: Catalog, offers: list[Offer]) -> None:
    """The exchange rate and its date, the price dates of ``offers``, the catalog's identity."""
    dates = catalog.price_dates(offers) if offers else []
    out.print(
        f"Money in euros at {fx.describe()}. Price dates: {', '.join(dates) or 'none shown'}. "
        f"Prices from {catalog.describe()}.",
        highlight=False,
    )


def add_columns(
    table: Table, left: list[str], right: list[str], more_right: list[str], last_left: list[str]
) -> None:
    """Text columns left-aligned, numbers right-aligned, in the order given."""
    for header in left:
        table.add_column(header)
    for header in [*right, *more_right]:
        table.add_column(header, justify="right")
    for header in last_left:
        table.add_column(header)


def money(value: float | None, decimals: int) -> str:
    return MISSING if value is None else f"{value:,.{decimals}f}"


def num(value: float | None) -> str:
    return MISSING if value is None else f"{value:g}"
