"""What a report's figures rest on, in words: catalog, price dates and sources, exchange rate,
utilization and traffic."""

from __future__ import annotations

from typing import Any

from cost_models import default_mbu


def assumptions(loaded, analysis, catalog, fx, offer_of, decline: float) -> dict[str, str]:
    """What the figures rest on: catalog, price dates and sources, FX, utilization, traffic."""
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


def _projected_model(spec: Any) -> str:
    """The full-scale model as the study names it (a preset, a count, or its own model)."""
    proj = spec.projection
    return str(proj.model or proj.params or f"{spec.model.path} (its own shape)")
