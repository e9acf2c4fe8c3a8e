"""The cost report assembled: charts, commitment advice and assumptions around an analysis."""

from __future__ import annotations

from cost_models import DEFAULT_PRICE_DECLINE_PER_YEAR
from sweeper.report._assumptions import assumptions
from sweeper.report._charts import breakdown_png, hypervolume_png, pareto_png
from sweeper.report._commitment import commitment_advice
from sweeper.report._html import ReportInputs, render_report
from sweeper.report._repricing import split_instance_label


def build_report(loaded, analysis, catalog, fx, repriced: str | None, parent_id: str | None) -> str:
    """Charts, commitment advice and assumptions around an analysis, rendered to HTML."""

    def offer_of(label: str):
        prov, name = split_instance_label(label)
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
