"""``sweeper report`` and ``sweeper reprice``: the Pareto review as a CTO report, and what the
study's configurations would cost on other hardware or prices (from recorded measurements)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sweeper.cli._apps import app
from sweeper.cli._study_commands import StorageOpt, StudyArg, TrackingOpt
from sweeper.errors import SweeperError
from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    GPU_HOURS_TRAIN_PROJECTED,
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
    typer.Option("--pricing", help="Training pricing: on_demand, spot, reserved_1y, reserved_3y."),
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


class RepriceError(SweeperError):
    """A reprice request the recorded study cannot answer."""


def _split(label: str) -> tuple[str | None, str]:
    provider, _, name = label.partition("/")
    return (provider, name) if name else (None, provider)


def repricing(
    loaded: Any,
    records: list,
    *,
    catalog_path: Path | None,
    instance: str | None,
    provider: str | None,
    pricing: str | None,
    serving_pricing: str | None,
    mfu: float | None,
    serving_instance: str | None = None,
) -> tuple[list, str] | None:
    """(repriced records, one-line description), or None when nothing asks for a repricing."""
    import cost_models
    from sweeper.report import TrainingTarget, reprice

    if not any((catalog_path, instance, pricing, serving_pricing, mfu, serving_instance)):
        return None
    catalog = cost_models.load_catalog(catalog_path)
    fx = cost_models.load_fx_rates()
    spec = loaded.spec
    training: dict[str, TrainingTarget] = {}
    moves: list[str] = []
    if any((catalog_path, instance, pricing, mfu)):
        for label in sorted(
            {
                str((r.projection.get("training") or {}).get("target_instance"))
                for r in records
                if r.projection.get("training")
            }
        ):
            old = next(
                r.projection["training"]
                for r in records
                if (r.projection.get("training") or {}).get("target_instance") == label
            )
            old_provider, old_type = _split(label)
            offer = catalog.offer(
                instance or old_type, provider=provider if instance else old_provider
            )
            new_pricing = pricing or str(old.get("target_pricing"))
            gpu = cost_models.gpu_spec(offer.gpu_model)
            same = f"{offer.provider}/{offer.instance_type}" == label
            if mfu is not None:
                new_mfu = mfu
            elif same:
                new_mfu = float(old["mfu"])
            elif spec.hardware.target.mfu is not None:
                new_mfu = float(spec.hardware.target.mfu)
            else:
                new_mfu = cost_models.default_mfu(spec.projection.method, gpu.name)
            training[label] = TrainingTarget(
                instance=f"{offer.provider}/{offer.instance_type}",
                gpu=gpu.name,
                gpu_peak_flops_per_second=gpu.peak_flops_per_second,
                gpu_count=int(offer.gpu_count),
                gpu_memory_gib=float(offer.gpu_memory_gib),
                pricing=new_pricing,
                eur_per_hour=cost_models.eur_per_hour(offer, new_pricing, fx),
                mfu=new_mfu,
                price_date=str(offer.price_date),
                source=str(offer.source),
            )
            moves.append(
                f"training {label} {old.get('target_pricing')} → {training[label].instance} "
                f"{new_pricing} (€{training[label].eur_per_hour:.3f}/h, {gpu.name}, MFU "
                f"{new_mfu:g}, price date {offer.price_date})"
            )
    serving: dict[str, tuple[float, str]] = {}
    serving_moves: dict[str, dict[str, Any]] = {}
    if serving_instance:
        serving_moves, move = _serving_moves(
            loaded, records, serving_instance, serving_pricing, catalog, fx
        )
        moves.append(move)
    elif serving_pricing or catalog_path:
        for r in records:
            s = r.projection.get("serving") or {}
            label = s.get("serving_instance")
            if not label or label in serving:
                continue
            prov, name = _split(str(label))
            offer = catalog.offer(name, provider=prov)
            new_pricing = serving_pricing or str(s.get("serving_pricing"))
            serving[label] = (cost_models.eur_per_hour(offer, new_pricing, fx), new_pricing)
            moves.append(f"serving {label} → {new_pricing} (€{serving[label][0]:.3f}/h)")
    if not training and not serving and not serving_moves:
        raise RepriceError("nothing to reprice: the study's trials recorded no projection")
    where = f" with catalog {catalog_path}" if catalog_path else ""
    repriced = reprice(
        records, training=training, serving_eur_per_hour=serving, serving_moves=serving_moves
    )
    return repriced, "; ".join(moves) + where


def _serving_moves(
    loaded: Any,
    records: list,
    label: str,
    pricing: str | None,
    catalog: Any,
    fx: Any,
) -> tuple[dict[str, dict[str, Any]], str]:
    """The cost model's serving projection on instance ``label`` for each weight dtype the
    study's trials were served at (the study's traffic, batch and context), keyed by dtype; and
    a one-line description of the move."""
    import cost_models
    from sweeper.costing import PricingContext, project_serving

    spec = loaded.spec
    if spec.serving is None:
        raise RepriceError(
            f"--serving-instance needs the study's `serving` section (traffic, batch, context); "
            f"{loaded.path} has none"
        )
    provider, name = _split(label)
    offer = catalog.offer(name, provider=provider)  # an unknown instance fails here, by name
    requested = f"{offer.provider}/{offer.instance_type}"
    moved = spec.model_copy(
        update={
            "serving": spec.serving.model_copy(
                update={
                    "instance": offer.instance_type,
                    "provider": offer.provider,
                    "region": None,
                    "pricing": pricing or spec.serving.pricing,
                }
            )
        }
    )
    ctx = PricingContext(catalog=catalog, fx=fx)
    dtypes = sorted(
        {
            str(r.projection["serving"]["weight_dtype"])
            for r in records
            if (r.projection.get("serving") or {}).get("weight_dtype")
        }
    )
    if not dtypes:
        raise RepriceError("nothing to reprice: the study's trials recorded no serving projection")
    projections = {
        dtype: project_serving(moved, dtype, ctx).as_dict() | {"requested_instance": requested}
        for dtype in dtypes
    }
    new_pricing = moved.serving.pricing
    fits = [d for d, proj in projections.items() if proj["fits_serving_instance"]]
    description = (
        f"serving → {requested} {new_pricing} "
        f"(€{cost_models.eur_per_hour(offer, new_pricing, fx):.3f}/h, {offer.gpu_count}× "
        f"{offer.gpu_model} {offer.gpu_memory_gib:g} GiB; fits at {', '.join(fits) or 'no level'})"
    )
    return projections, description


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
    from sweeper.report import cost_eur_horizon, horizon_ranking

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
    before = horizon_ranking([p.before for p in repriced], horizon_months)
    after = horizon_ranking([p.after for p in repriced], horizon_months)
    rows = []
    for p in sorted(repriced, key=lambda p: (after.get(p.number, 10**9), p.number)):
        if p.number not in before and p.number not in after:
            continue
        rows.append(
            {
                "trial": p.number,
                "rank_before": before.get(p.number),
                "rank_after": after.get(p.number),
                "params": p.before.params,
                "quality": {
                    k: v
                    for k, v in p.before.metrics.items()
                    if k in loaded.spec.eval.tasks or k.endswith("_stderr")
                },
                "cost_eur_train_projected_before": p.before.metrics.get(COST_EUR_TRAIN_PROJECTED),
                "cost_eur_train_projected_after": p.after.metrics.get(COST_EUR_TRAIN_PROJECTED),
                "gpu_hours_train_projected_before": p.before.metrics.get(GPU_HOURS_TRAIN_PROJECTED),
                "gpu_hours_train_projected_after": p.after.metrics.get(GPU_HOURS_TRAIN_PROJECTED),
                "cost_eur_serving_month_before": p.before.metrics.get(COST_EUR_SERVING_MONTH),
                "cost_eur_serving_month_after": p.after.metrics.get(COST_EUR_SERVING_MONTH),
                "cost_eur_horizon_before": cost_eur_horizon(p.before, horizon_months),
                "cost_eur_horizon_after": cost_eur_horizon(p.after, horizon_months),
                "feasible_after": p.after.feasible,
                "why": p.why,
            }
        )
    data = {
        "study": loaded.name,
        "repriced": description,
        "horizon_months": horizon_months,
        "ranking_changed": [r["trial"] for r in rows if r["rank_before"] != r["rank_after"]],
        "trials": rows,
    }
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
    from sweeper.report import ReviewOptions, analyze_study

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


def build_report(loaded, analysis, catalog, fx, repriced: str | None, parent_id: str | None) -> str:
    """Charts, commitment advice and assumptions around an analysis, rendered to HTML."""
    from cost_models import DEFAULT_PRICE_DECLINE_PER_YEAR
    from sweeper.report import ReportInputs, commitment_advice, render_report
    from sweeper.report._charts import breakdown_png, hypervolume_png, pareto_png

    def offer_of(label: str):
        prov, name = _split(label)
        return catalog.offer(name, provider=prov)

    rec = analysis.recommended
    months = int(round(analysis.options.horizon_months)) or 12
    advice = commitment_advice(rec.record, offer_of, fx, months=months) if rec is not None else None
    charts = {
        "pareto_front.png": pareto_png(analysis),
        "hypervolume.png": hypervolume_png(analysis),
        "cost_breakdown.png": breakdown_png(analysis),
    }
    return render_report(
        ReportInputs(
            study=loaded.name,
            analysis=analysis,
            charts=charts,
            commitment=advice,
            assumptions=assumptions(
                loaded, analysis, catalog, fx, offer_of, DEFAULT_PRICE_DECLINE_PER_YEAR
            ),
            repriced=repriced,
            parent_run_id=parent_id,
        )
    )


def assumptions(loaded, analysis, catalog, fx, offer_of, decline: float) -> dict[str, str]:
    """What the figures rest on: catalog, price dates and sources, FX, utilization, traffic."""
    from cost_models import default_mbu

    spec = loaded.spec
    trial_hw = spec.hardware.trial
    dates = catalog.price_dates()
    out = {
        "Price catalog": f"{catalog.describe()} ({', '.join(p.name for p in catalog.paths)}); "
        f"price dates {dates[0]} to {dates[-1]}",
        "Exchange rate": fx.describe(),
        "Full-scale projection": f"model {_projected_model(spec)}, "
        f"{spec.projection.dataset_tokens:g} tokens per epoch, method {spec.projection.method}",
        "Trial hardware (the sweep's own cost)": f"{trial_hw.name or trial_hw.instance}"
        + (
            f" at €{spec.hardware.trial.eur_per_hour}/h (declared)"
            if spec.hardware.trial.eur_per_hour is not None
            else ""
        ),
        "Horizon and recommendations": f"{analysis.options.horizon_months:g} months of serving "
        f"counted with one full-scale training; cheapest configuration within "
        f"{analysis.options.tolerance_points:g} quality points of the best; € cap "
        + (f"€{analysis.cap_eur:,.2f}" if analysis.cap_eur is not None else "none")
        + (" (median configuration)" if analysis.options.cap_eur is None else ""),
        "Obsolescence": f"market price of equivalent compute falls {decline:.0%} a year "
        "(cost_models.DEFAULT_PRICE_DECLINE_PER_YEAR)",
        "Hypervolume": "normalised to the box between the ideal point and a reference point at "
        "the worst feasible value of each objective + 10% of its range",
    }
    rec = analysis.recommended
    if rec is not None:
        t = rec.record.projection.get("training") or {}
        if t.get("target_instance"):
            o = offer_of(str(t["target_instance"]))
            out["Training price"] = (
                f"{o.label}: {t.get('target_pricing')} €{float(t['target_eur_per_hour']):.4f}/h, "
                f"price date {o.price_date}, source {o.source}"
            )
            out["Training utilization"] = (
                f"MFU {float(t.get('mfu', 0)):g} on {t.get('target_gpu')} "
                + (
                    "(declared in the study)"
                    if spec.hardware.target.mfu is not None
                    else "(cost_models utilization default)"
                )
            )
        s = rec.record.projection.get("serving") or {}
        if s.get("serving_instance"):
            o = offer_of(str(s["serving_instance"]))
            out["Serving price"] = (
                f"{o.label}: {s.get('serving_pricing')} €{float(s['serving_eur_per_hour']):.4f}/h, "
                f"price date {o.price_date}, source {o.source}"
            )
            out["Serving utilization and traffic"] = (
                f"decode MBU {default_mbu(str(s.get('serving_gpu') or o.gpu_model)):g} (default); "
                f"{spec.serving.tokens_per_month:g} tokens a month, batch {spec.serving.batch}, "
                f"sequence {spec.serving.seq_len}; weights {s.get('weight_dtype')}"
                if spec.serving is not None
                else f"weights {s.get('weight_dtype')}"
            )
    return out


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


def _projected_model(spec: Any) -> str:
    """The full-scale model as the study names it (a preset, a count, or its own model)."""
    proj = spec.projection
    return str(proj.model or proj.params or f"{spec.model.path} (its own shape)")
