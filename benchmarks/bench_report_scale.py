"""Time the Pareto review and the report on a synthetic 10,000-trial study.

    .venv/bin/python -m benchmarks.bench_report_scale [N]

Prints seconds for: building the study in memory, the analysis (ranks, front, hypervolume history,
recommendations), the PNG charts, the interactive HTML, and the rendered report.
"""

from __future__ import annotations

import sys
import time
import warnings


def main(n: int = 10_000) -> None:
    warnings.filterwarnings("ignore")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from sweeper.report import (
        analyze_study,
        breakdown_png,
        hypervolume_png,
        interactive_html,
        pareto_png,
    )
    from tests.sweeper.report.synthetic import synthetic_study
    from tests.sweeper.report.test_scale import render_for

    t0 = time.perf_counter()
    study = synthetic_study(n)
    t1 = time.perf_counter()
    analysis = analyze_study(study)
    t2 = time.perf_counter()
    pngs = [pareto_png(analysis), hypervolume_png(analysis), breakdown_png(analysis)]
    t3 = time.perf_counter()
    page = interactive_html(analysis, "bench")
    t4 = time.perf_counter()
    html = render_for(analysis)
    t5 = time.perf_counter()
    print(f"{n} trials, front {len(analysis.front)}, hypervolume {analysis.hypervolume:.4f}")
    print(f"build study      {t1 - t0:6.1f} s")
    print(f"analysis         {t2 - t1:6.1f} s")
    print(f"PNG charts       {t3 - t2:6.1f} s ({sum(map(len, pngs)) / 1024:.0f} KiB)")
    print(f"interactive HTML {t4 - t3:6.1f} s ({len(page) / 2**20:.1f} MiB)")
    print(f"report           {t5 - t4:6.1f} s ({len(html) / 1024:.0f} KiB)")
    print(f"review total     {t5 - t1:6.1f} s (without building the study)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
