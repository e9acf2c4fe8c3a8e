"""The CTO report: one self-contained HTML file (charts as base64 PNG, no external links).

The figures it shows are also embedded as JSON (``<script id="report-data">``), the same numbers
the parent MLflow run carries as metrics, so a reader or a test can check one against the other.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    GPU_HOURS_TRAIN_PROJECTED,
    SERVING_REPLICAS,
)
from sweeper.report._analysis import ParetoAnalysis
from sweeper.report._charts import axis_label, sweep_cost_by_state
from sweeper.report._commitment import CommitmentAdvice
from sweeper.report._records import TrialRecord


@dataclass(frozen=True)
class ReportInputs:
    study: str
    analysis: ParetoAnalysis
    charts: dict[str, bytes]
    commitment: CommitmentAdvice | None
    #: Label -> text: catalog, price dates and sources, exchange rate, utilization defaults, ...
    assumptions: dict[str, str]
    repriced: str | None = None
    parent_run_id: str | None = None
    generated: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    )


def eur(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"€{value:,.4f}" if abs(value) < 1 else f"€{value:,.2f}"


def score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def params_text(r: TrialRecord) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in r.params.items())


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _config(a: ParetoAnalysis, r: TrialRecord) -> dict[str, Any]:
    q = a.quality
    training = r.projection.get("training") or {}
    serving = r.projection.get("serving") or {}
    return {
        "trial": r.number,
        "params": dict(r.params),
        "params_text": params_text(r),
        "quality": r.metrics.get(q),
        "quality_stderr": r.metrics.get(f"{q}_stderr"),
        COST_EUR_TRAIN_PROJECTED: r.metrics.get(COST_EUR_TRAIN_PROJECTED),
        COST_EUR_SERVING_MONTH: r.metrics.get(COST_EUR_SERVING_MONTH),
        "cost_eur_horizon": a.horizon_cost(r),
        "objectives": {o.name: r.metrics.get(o.name) for o in a.objectives},
        "train_instance": training.get("target_instance"),
        "train_pricing": training.get("target_pricing"),
        "train_eur_per_hour": training.get("target_eur_per_hour"),
        GPU_HOURS_TRAIN_PROJECTED: r.metrics.get(GPU_HOURS_TRAIN_PROJECTED),
        "serving_instance": serving.get("serving_instance"),
        "serving_pricing": serving.get("serving_pricing"),
        SERVING_REPLICAS: serving.get(SERVING_REPLICAS),
        "rank": a.ranks.get(r.number),
        "mlflow_run_id": r.mlflow_run_id,
    }


def report_data(inputs: ReportInputs) -> dict[str, Any]:
    """Every figure the report shows, as plain JSON."""
    a = inputs.analysis
    c = inputs.commitment
    return {
        "study": inputs.study,
        "generated": inputs.generated,
        "quality_metric": a.quality,
        "objectives": {o.name: o.direction for o in a.objectives},
        "parent_run_id": inputs.parent_run_id,
        "repriced": inputs.repriced,
        "parent_metrics": a.parent_metrics(),
        "recommendations": {
            k: {"title": rec.title, "why": rec.why, **_config(a, rec.record)}
            for k, rec in a.recommendations.items()
        },
        "pareto": [_config(a, r) for r in a.front],
        "spent_eur_by_state": a.spent_by_state(),
        "spent_eur_by_state_and_step": sweep_cost_by_state(a),
        "hypervolume_reference": a.box.in_units(a.objectives) if a.box else None,
        "commitment": None
        if c is None
        else {
            "usage": c.usage,
            "instance": c.instance,
            "instances": c.instances,
            "hours_per_month": c.hours_per_month,
            "months": c.comparison.months,
            "price_decline_per_year": c.comparison.price_decline_per_year,
            "recommendation": c.comparison.recommendation,
            "reason": c.comparison.reason,
            "options": [
                {
                    "option": o.option,
                    "label": o.label,
                    "eligible": o.eligible,
                    "eur_per_hour_now": o.eur_per_hour_now,
                    "total_eur": o.total_eur,
                    "break_even_utilization": o.break_even_utilization,
                    "note": o.note,
                }
                for o in c.comparison.options
            ],
        },
        "assumptions": inputs.assumptions,
    }


TEMPLATE = "report.html.j2"


def render_report(inputs: ReportInputs) -> str:
    """The report as one HTML string (opens offline: no scripts or styles are fetched)."""
    import jinja2

    a = inputs.analysis
    d = report_data(inputs)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    rec = d["recommendations"].get("cheapest_within_tolerance")
    if rec is not None:
        rec = dict(rec, title_short=rec["title"][0].lower() + rec["title"][1:])

    def fmt(name: str, value: float | None) -> str:
        if value is None:
            return "n/a"
        return eur(value) if name.startswith("cost_eur") else f"{value:.4g}"

    front = d["pareto"]
    from importlib.resources import files

    template = files("sweeper.report").joinpath(TEMPLATE).read_text(encoding="utf-8")
    return env.from_string(template).render(
        d=d,
        rec=rec,
        c=d["commitment"],
        q=a.quality,
        metrics=d["parent_metrics"],
        best_quality=a.best_quality,
        months=f"{a.options.horizon_months:g}",
        n_trials=len(a.records),
        n_complete=sum(1 for r in a.records if r.complete),
        states=a.states,
        front=front,
        reference=", ".join(f"{k}={v:.4g}" for k, v in (d["hypervolume_reference"] or {}).items()),
        png={
            k: base64.b64encode(v).decode() for k, v in inputs.charts.items() if k.endswith(".png")
        },
        eur=eur,
        score=score,
        fmt=fmt,
        label=axis_label,
        # "</" cannot end the script element early; JSON stays valid.
        data_json=json.dumps(d, default=str).replace("</", "<\\/"),
    )
