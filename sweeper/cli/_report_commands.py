"""``sweeper report`` and ``sweeper reprice``: the Pareto review as a CTO report, and what the
study's configurations would cost on other hardware or prices (from recorded measurements)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cost_models import PRICING_MODELS
from sweeper.cli._apps import app
from sweeper.cli._study_commands import StorageOpt, StudyArg, TrackingOpt
from sweeper.errors import SweeperError
from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
)
from sweeper.redaction import redact_url, scrub

console = Console()

CatalogOpt = Annotated[
    Path | None,
    typer.Option("--catalog", help="Reprice with this catalog CSV or folder (same instances)."),
]
InstanceOpt = Annotated[
    str | None, typer.Option("--instance", help="Reprice full-scale training on this instance.")
]
ProviderOpt = Annotated[str | None, typer.Option("--provider", help="Provider of --instance.")]
PricingOpt = Annotated[
    str | None,
    typer.Option("--pricing", help=f"Training pricing: {', '.join(PRICING_MODELS)}."),
]
ServingPricingOpt = Annotated[
    str | None, typer.Option("--serving-pricing", help="Serving pricing model to reprice with.")
]
ServingInstanceOpt = Annotated[
    str | None,
    typer.Option(
        "--serving-instance",
        help="Serve on this instance (PROVIDER/TYPE or TYPE): memory fit, decode rate and "
        "replicas from the cost model for each trial's weight dtype.",
    ),
]
MfuOpt = Annotated[
    float | None,
    typer.Option("--mfu", help="MFU on the new GPU (default: the study's, else the default)."),
]
MonthsOpt = Annotated[
    float,
    typer.Option("--horizon-months", help="Months of serving counted with training (ranking)."),
]


def _load(study: str, storage: str | None):
    from sweeper.report import study_records
    from sweeper.storage import default_storage_url, load_existing_study
    from sweeper.study import load_study

    loaded = load_study(study)
    storage_url = storage or default_storage_url()
    st = load_existing_study(loaded.name, storage_url)
    return loaded, storage_url, st, study_records(st)


@app.command("reprice")
def reprice_command(
    study: str = StudyArg,
    storage: str | None = StorageOpt,
    catalog_path: CatalogOpt = None,
    instance: InstanceOpt = None,
    provider: ProviderOpt = None,
    pricing: PricingOpt = None,
    serving_pricing: ServingPricingOpt = None,
    serving_instance: ServingInstanceOpt = None,
    mfu: MfuOpt = None,
    horizon_months: MonthsOpt = 12,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to print.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What the study's configurations would cost on other hardware or prices, without re-running
    anything: recorded FLOPs and serving projections repriced, ranked by cost over the horizon."""
    from sweeper.report import RepriceError, reprice_table, repricing

    loaded, _, _, records = _load(study, storage)
    result = repricing(
        loaded,
        records,
        catalog_path=catalog_path,
        instance=instance,
        provider=provider,
        pricing=pricing,
        serving_pricing=serving_pricing,
        mfu=mfu,
        serving_instance=serving_instance,
    )
    if result is None:
        raise RepriceError(
            "give --catalog, --instance, --pricing, --serving-instance, --serving-pricing or --mfu"
        )
    repriced, description = result
    repriced_table = reprice_table(
        loaded.name, description, repriced, horizon_months, loaded.spec.eval.tasks
    )
    data = repriced_table.to_dict()
    rows = data["trials"]
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    q = next(iter(loaded.spec.eval.tasks))
    console.print(f"[bold]{loaded.name}[/] repriced: {description}")
    table = Table(show_edge=False)
    for col in (
        "rank (was)",
        "#",
        q,
        "training € (was → now)",
        "serving €/month (was → now)",
        f"{horizon_months:g} months € (was → now)",
    ):
        table.add_column(col, justify="right" if col != "#" else "left")
    for r in rows[:top]:
        rank = "-" if r["rank_after"] is None else str(r["rank_after"])
        table.add_row(
            f"{rank} ({r['rank_before'] or '-'})",
            str(r["trial"]),
            f"{r['quality'].get(q, float('nan')):.4g}",
            f"{_eur(r['cost_eur_train_projected_before'])} → "
            f"{_eur(r['cost_eur_train_projected_after'])}",
            f"{_eur(r['cost_eur_serving_month_before'])} → "
            f"{_eur(r['cost_eur_serving_month_after'])}",
            f"{_eur(r['cost_eur_horizon_before'])} → {_eur(r['cost_eur_horizon_after'])}",
        )
    console.print(table)
    moved = data["ranking_changed"]
    for r in rows[:1] + [r for r in rows if r["trial"] in moved[:1]]:
        console.print(
            f"why (trial {r['trial']}, rank {r['rank_before']} → {r['rank_after']}): {r['why']}",
            soft_wrap=True,
        )
    console.print(
        f"ranking changed for {len(moved)} of {len(rows)} configuration(s)"
        + (f": {', '.join(map(str, moved[:15]))}" if moved else "")
        + (
            " (a uniform move scales every training bill alike; ranks move through serving, "
            "memory fit, or trials on other targets)"
            if not moved
            else ""
        )
    )


def _eur(value: float | None) -> str:
    if value is None:
        return "-"
    return f"€{value:,.4f}" if abs(value) < 1 else f"€{value:,.2f}"


@app.command("report")
def report_command(
    study: str = StudyArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: reports/STUDY.html).")
    ] = None,
    storage: str | None = StorageOpt,
    tracking_uri: str | None = TrackingOpt,
    no_mlflow: Annotated[
        bool, typer.Option("--no-mlflow", help="Do not log the report to MLflow.")
    ] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also print it to PDF with headless Chromium.")
    ] = False,
    tolerance_points: Annotated[
        float, typer.Option("--tolerance-points", help="Quality points (0.01 each) below the best.")
    ] = 2.0,
    cap_eur: Annotated[
        float | None,
        typer.Option(
            "--cap-eur",
            help="€ cap on training + serving over the horizon "
            "(default: the median configuration's cost).",
        ),
    ] = None,
    horizon_months: MonthsOpt = 12,
    catalog_path: CatalogOpt = None,
    instance: InstanceOpt = None,
    provider: ProviderOpt = None,
    pricing: PricingOpt = None,
    serving_pricing: ServingPricingOpt = None,
    serving_instance: ServingInstanceOpt = None,
    mfu: MfuOpt = None,
) -> None:
    """Write the study's cost report: one self-contained HTML file, logged to the parent run."""
    import cost_models
    from sweeper.report import ReviewOptions, analyze_study, build_report, repricing

    loaded, storage_url, st, records = _load(study, storage)
    result = repricing(
        loaded,
        records,
        catalog_path=catalog_path,
        instance=instance,
        provider=provider,
        pricing=pricing,
        serving_pricing=serving_pricing,
        mfu=mfu,
        serving_instance=serving_instance,
    )
    description = None
    if result is not None:
        records = [p.after for p in result[0]]
        description = result[1]
    options = ReviewOptions(tolerance_points, cap_eur, horizon_months)
    analysis = analyze_study(st, options, records)
    catalog = cost_models.load_catalog(catalog_path)
    fx = cost_models.load_fx_rates()
    path = out or Path("reports") / f"{loaded.name}.html"
    parent_id, client = _parent_run(loaded.name, storage_url, tracking_uri, no_mlflow)
    html = build_report(loaded, analysis, catalog, fx, description, parent_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    rec = analysis.recommended
    console.print(f"report: {path} ({path.stat().st_size / 1024:.0f} KiB, self-contained)")
    if rec is not None:
        m = rec.record.metrics
        console.print(
            f"recommended: trial {rec.record.number} ({analysis.quality}="
            f"{m[analysis.quality]:.4g}); training {_eur(m.get(COST_EUR_TRAIN_PROJECTED))}, "
            f"serving {_eur(m.get(COST_EUR_SERVING_MONTH))}/month"
        )
    from sweeper.mlflow_view import stored_view_link

    view = stored_view_link(st)
    if view is not None:
        for line in view.lines():
            console.print(line, soft_wrap=True, markup=False)
    if pdf:
        pdf_path = print_pdf(path)
        console.print(f"pdf: {pdf_path}")
    if client is not None and parent_id is not None:
        from sweeper.report import log_report

        try:
            log_report(client, parent_id, path)
            console.print(f"logged to MLflow parent run {parent_id} (report/{path.name})")
        except Exception as exc:  # the file is written either way
            console.print(f"[yellow]could not log the report to MLflow: {exc}[/]")


def _parent_run(name: str, storage_url: str, tracking_uri: str | None, no_mlflow: bool):
    if no_mlflow:
        return None, None
    from sweeper.report import find_parent_run
    from sweeper.tracking import bounded_http_retries, default_tracking_uri, storage_id

    uri = tracking_uri or default_tracking_uri()
    where = redact_url(uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        console.print(f"[dim]no MLflow store at {where}; the report is not logged[/]")
        return None, None
    bounded_http_retries()
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        run_id = find_parent_run(client, name, storage_id(storage_url))
    except Exception as exc:
        console.print(
            f"[yellow]MLflow at {where} not usable ({scrub(str(exc), uri)}); "
            "the report is not logged[/]"
        )
        return None, None
    if run_id is None:
        console.print(
            f"[dim]no parent run for study {name!r} in {where}; the report is not logged[/]"
        )
        return None, None
    return run_id, client


def print_pdf(html_path: Path) -> Path:
    """Print the HTML report to PDF with headless Chromium (the same layout, no second one)."""
    import tempfile

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SweeperError("--pdf needs Chromium (e.g. `apt-get install -y chromium`)")
    pdf = html_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf.resolve()}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return pdf
