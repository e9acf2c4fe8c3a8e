"""A 10,000-trial synthetic study gets its Pareto set, charts and report (timing: benchmarks/)."""

from __future__ import annotations

import time

import cost_models
from sweeper.report import analyze_study
from sweeper.report._charts import chart_files
from sweeper.study import load_study
from tests.sweeper.report.synthetic import DEMO, synthetic_study


def render_for(analysis) -> str:
    from sweeper.report import build_report

    return build_report(
        load_study(DEMO),
        analysis,
        cost_models.load_catalog(),
        cost_models.load_fx_rates(),
        None,
        None,
    )


def test_ten_thousand_trials() -> None:
    study = synthetic_study(10_000, seed=1)
    started = time.perf_counter()
    analysis = analyze_study(study)
    assert [r.number for r in analysis.front] == sorted(t.number for t in study.best_trials)
    assert len(analysis.history) == 10_000
    files = chart_files(analysis, "scale")
    html = render_for(analysis)
    elapsed = time.perf_counter() - started
    assert all(len(v) > 1000 for v in files.values())
    assert "Recommendation: trial #" in html and html.count("data:image/png;base64,") == 3
    assert elapsed < 600, f"{elapsed:.0f} s: far beyond the one-minute target (sanity bound)"
