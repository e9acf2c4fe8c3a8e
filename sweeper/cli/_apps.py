"""The Typer applications that command modules register on (kept apart to avoid import cycles),
with the options of ``sweeper`` itself: ``--version`` and shell completion."""

from __future__ import annotations

import typer

import sweeper
from sweeper.provenance import git_sha

app = typer.Typer(
    name="sweeper",
    help="Cost-aware sweeps for LLM fine-tuning: quality and GPU euros, measured together.",
    no_args_is_help=True,
    # `sweeper --install-completion` / `--show-completion` (bash, zsh, fish, PowerShell).
    add_completion=True,
    pretty_exceptions_enable=False,
)
prices_app = typer.Typer(help="Cloud GPU price catalogs, shown in euros.", no_args_is_help=True)
app.add_typer(prices_app, name="prices")


def version_line() -> str:
    """``sweeper 0.1.0 (git 1744b94…)``: the installed package version and the commit of the
    checkout it runs from ('unknown' outside a git checkout)."""
    return f"sweeper {sweeper.__version__} (git {git_sha() or 'unknown'})"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the package version and git commit, then exit.",
    ),
) -> None:
    """Cost-aware sweeps for LLM fine-tuning: quality and GPU euros, measured together."""
