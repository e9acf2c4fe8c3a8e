"""The Typer applications that command modules register on (kept apart to avoid import cycles)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="sweeper",
    help="Cost-aware sweeps for LLM fine-tuning: quality and GPU euros, measured together.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
prices_app = typer.Typer(help="Cloud GPU price catalogs, shown in euros.", no_args_is_help=True)
app.add_typer(prices_app, name="prices")
