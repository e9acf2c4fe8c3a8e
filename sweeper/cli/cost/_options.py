"""Options shared by the cost commands, their choices read from the cost model's vocabularies."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from cost_models import DTYPES, PRICING_MODELS, TRAINING_METHODS, FxRates, load_fx_rates
from cost_models.errors import InvalidInputError

#: ``--method``: the training methods of the cost model, and ``serve``.
Method = Enum("Method", {name: name for name in (*TRAINING_METHODS, "serve")}, type=str)  # type: ignore[misc]
#: ``--pricing``: the pricing models.
Pricing = Enum("Pricing", {name: name for name in PRICING_MODELS}, type=str)  # type: ignore[misc]
#: ``--dtype`` and ``--kv-dtype``: the storage dtypes.
WeightDtype = Enum("WeightDtype", {name: name for name in DTYPES}, type=str)  # type: ignore[misc]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="A schema-v1 catalog CSV, or a folder of them (default: the bundled catalogs).",
    ),
]
FxUsdOpt = Annotated[
    float | None,
    typer.Option(
        "--fx-usd-per-eur", help="Override the exchange rate: US dollars per euro (dated today)."
    ),
]
FxFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--fx-file",
        help="An ECB eurofxref XML file to take rates from (default: the bundled ECB rate).",
    ),
]
ProviderOpt = Annotated[
    list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--region", help="Only this region or pattern, e.g. eu-central-1 or 'eu*' (repeatable)."
    ),
]


def load_fx(usd_per_eur: float | None, fx_file: Path | None) -> FxRates:
    """The rates ``--fx-usd-per-eur`` (dated today) or ``--fx-file`` ask for, else the bundled."""
    if usd_per_eur is not None and fx_file is not None:
        raise InvalidInputError("Give --fx-usd-per-eur or --fx-file, not both.")
    if usd_per_eur is not None:
        return FxRates.fixed(
            usd_per_eur=usd_per_eur, date=dt.date.today(), source="--fx-usd-per-eur override"
        )
    return load_fx_rates(fx_file)
