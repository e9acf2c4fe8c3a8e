"""The review's charts: matplotlib PNGs (MLflow artifacts, the report) and one plotly HTML page.

Every chart is a pure function of a ``ParetoAnalysis``. Axis titles carry the metric's unit from
``sweeper.metrics`` (euros shown as €). matplotlib and plotly are imported late.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence

from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    COST_EUR_TRIAL,
    COST_METRICS,
    EVAL_SECONDS,
    TRAIN_SECONDS,
    WALL_SECONDS,
    quality_metric,
)
from sweeper.report._analysis import ParetoAnalysis
from sweeper.report._records import Objective, TrialRecord

GREY, FRONT, INFEASIBLE, HIGHLIGHT = "#b0b0b0", "#1f77b4", "#d62728", "#ff7f0e"
#: Above this many points the dominated cloud is drawn smaller and lighter.
DENSE = 2000


def axis_label(name: str) -> str:
    """``cost_eur_train_projected (€)``, ``quality (score 0-1)``."""
    info = COST_METRICS.get(name) or quality_metric(name)
    unit = info.unit.replace("EUR", "€")
    return f"{name} ({unit})"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _groups(a: ParetoAnalysis) -> dict[str, list[TrialRecord]]:
    rows = [r for r in a.records if r.complete and r.has_values(a.objectives)]
    front = {r.number for r in a.front}
    return {
        "front": [r for r in rows if r.number in front],
        "dominated": [r for r in rows if r.feasible and r.number not in front],
        "infeasible": [r for r in rows if not r.feasible],
    }


def _pairs(objectives: Sequence[Objective]) -> list[tuple[Objective, Objective]]:
    """The (x, y) pairs to draw: cost on x and quality on y where there is one."""
    pairs = []
    for a, b in itertools.combinations(objectives, 2):
        x, y = (b, a) if a.direction == "maximize" and b.direction == "minimize" else (a, b)
        pairs.append((x, y))
    return pairs


def _staircase(points: list[tuple[float, float]], x: Objective, y: Objective):
    """The 2-D non-dominated subset of ``points``, sorted along x, as a step line."""
    sx, sy = x.sign, y.sign
    best: list[tuple[float, float]] = []
    for px, py in sorted(points, key=lambda p: (sx * p[0], sy * p[1])):
        if not best or sy * py < sy * best[-1][1]:
            best.append((px, py))
    xs, ys = [], []
    for i, (px, py) in enumerate(best):
        if i:
            xs.append(px)
            ys.append(best[i - 1][1])
        xs.append(px)
        ys.append(py)
    return xs, ys


def pareto_png(a: ParetoAnalysis) -> bytes:
    """Objective vs objective (every pair when there are more than two): dominated trials grey,
    infeasible ones as red crosses, the front in blue with its 2-D staircase, the recommended
    configuration as an orange star."""
    plt = _plt()
    pairs = _pairs(a.objectives)
    cols = min(len(pairs), 3)
    rows_n = (len(pairs) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(5.2 * cols, 4.2 * rows_n), squeeze=False)
    groups = _groups(a)
    dense = len(a.records) > DENSE
    rec = a.recommended.record if a.recommended else None
    for ax, (x, y) in zip(axes.flat, pairs, strict=False):

        def xy(rs: list[TrialRecord], x=x, y=y):
            return [r.metrics[x.name] for r in rs], [r.metrics[y.name] for r in rs]

        ax.scatter(
            *xy(groups["dominated"]),
            s=4 if dense else 22,
            c=GREY,
            alpha=0.35 if dense else 0.9,
            label="dominated",
            linewidths=0,
        )
        if groups["infeasible"]:
            ax.scatter(
                *xy(groups["infeasible"]),
                s=10 if dense else 30,
                c=INFEASIBLE,
                marker="x",
                alpha=0.5 if dense else 0.9,
                label="infeasible (constraint)",
            )
        fx, fy = xy(groups["front"])
        ax.scatter(fx, fy, s=34, c=FRONT, label="Pareto-optimal", zorder=3)
        sx, sy = _staircase(list(zip(fx, fy, strict=True)), x, y)
        ax.plot(sx, sy, c=FRONT, lw=1.2, zorder=2, label="front (this pair)")
        if rec is not None:
            ax.scatter(
                [rec.metrics[x.name]],
                [rec.metrics[y.name]],
                s=220,
                marker="*",
                c=HIGHLIGHT,
                edgecolors="black",
                zorder=4,
                label=f"recommended #{rec.number}",
            )
        ax.set_xlabel(axis_label(x.name))
        ax.set_ylabel(axis_label(y.name))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="best")
    fig.suptitle(
        f"Pareto front: {len(a.front)} of {sum(len(g) for g in groups.values())} complete trials"
    )
    fig.tight_layout()
    return _png(fig)


def hypervolume_png(a: ParetoAnalysis) -> bytes:
    """Hypervolume (normalised, see ``sweeper.report._pareto``) against euros spent."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    xs = [p.spent_eur for p in a.history]
    ys = [p.hypervolume for p in a.history]
    ax.step(xs, ys, where="post", c=FRONT)
    if len(xs) <= 200:
        ax.scatter(xs, ys, s=12, c=FRONT)
    ax.set_xlabel("sweep spend so far (€)")
    ax.set_ylabel("hypervolume (share of reference box)")
    ax.set_ylim(0, max([1e-9, *ys]) * 1.1)
    ax.set_title("Hypervolume against € spent")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def sweep_cost_split(r: TrialRecord) -> dict[str, float]:
    """A trial's own cost split into training, evaluation and the rest (merge, quantization,
    loading), in proportion to the measured seconds of each step."""
    total = float(r.metrics.get(COST_EUR_TRIAL, 0.0))
    wall = float(r.metrics.get(WALL_SECONDS, 0.0))
    if total <= 0 or wall <= 0:
        return {"training": 0.0, "evaluation": 0.0, "other": total}
    train = total * min(float(r.metrics.get(TRAIN_SECONDS, 0.0)) / wall, 1.0)
    evaluation = total * min(float(r.metrics.get(EVAL_SECONDS, 0.0)) / wall, 1.0)
    evaluation = min(evaluation, total - train)
    return {"training": train, "evaluation": evaluation, "other": total - train - evaluation}


def sweep_cost_by_state(a: ParetoAnalysis) -> dict[str, dict[str, float]]:
    """Euros the sweep spent per trial state and step, plus the base-model evaluation."""
    out: dict[str, dict[str, float]] = {}
    for r in a.records:
        row = out.setdefault(r.state, {"training": 0.0, "evaluation": 0.0, "other": 0.0})
        for k, v in sweep_cost_split(r).items():
            row[k] += v
    if a.spent_eur_baseline:
        out["BASELINE"] = {"training": 0.0, "evaluation": a.spent_eur_baseline, "other": 0.0}
    return out


def breakdown_png(a: ParetoAnalysis) -> bytes:
    """Left: what the sweep itself cost, by trial state and step. Right: the recommended
    configurations at full scale, training once (€) and serving per month (€/month)."""
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    by_state = sweep_cost_by_state(a)
    states = list(by_state)
    bottom = [0.0] * len(states)
    for step, colour in (("training", FRONT), ("evaluation", HIGHLIGHT), ("other", GREY)):
        vals = [by_state[s][step] for s in states]
        left.bar(states, vals, bottom=bottom, label=step, color=colour)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    left.set_ylabel("€ spent by the sweep")
    left.set_title(f"The sweep: €{a.spent_eur_total:,.4f} in all")
    left.legend(fontsize=8)
    recs = list(a.recommendations.values())
    labels = [f"{r.kind.replace('_', ' ')}\n#{r.record.number}" for r in recs]
    train = [r.record.metrics.get(COST_EUR_TRAIN_PROJECTED, 0.0) for r in recs]
    serve = [r.record.metrics.get(COST_EUR_SERVING_MONTH, 0.0) for r in recs]
    idx = range(len(recs))
    right.bar([i - 0.2 for i in idx], train, width=0.4, label="training, once (€)", color=FRONT)
    right.bar([i + 0.2 for i in idx], serve, width=0.4, label="serving (€/month)", color=HIGHLIGHT)
    right.set_xticks(list(idx), labels, fontsize=8)
    right.set_ylabel("€ (training) / €/month (serving)")
    right.set_title("At full scale (projection)")
    if any(v > 0 for v in train + serve):
        right.set_yscale("log")
    right.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def interactive_html(a: ParetoAnalysis, title: str) -> str:
    """One self-contained HTML page (plotly.js inline, opens offline): the front (first pair),
    parallel coordinates of every objective, hypervolume against € spent."""
    import plotly.graph_objects as go

    groups = _groups(a)
    x, y = _pairs(a.objectives)[0]
    front = go.Figure()
    for key, colour, symbol in (
        ("dominated", GREY, "circle"),
        ("infeasible", INFEASIBLE, "x"),
        ("front", FRONT, "circle"),
    ):
        rs = groups[key]
        front.add_scatter(
            x=[r.metrics[x.name] for r in rs],
            y=[r.metrics[y.name] for r in rs],
            mode="markers",
            name=key,
            marker={"color": colour, "symbol": symbol},
            text=[_hover(r, a) for r in rs],
            hoverinfo="text",
        )
    if a.recommended is not None:
        r = a.recommended.record
        front.add_scatter(
            x=[r.metrics[x.name]],
            y=[r.metrics[y.name]],
            mode="markers",
            name=f"recommended #{r.number}",
            text=[_hover(r, a)],
            hoverinfo="text",
            marker={"color": HIGHLIGHT, "symbol": "star", "size": 18},
        )
    front.update_layout(
        title="Pareto front", xaxis_title=axis_label(x.name), yaxis_title=axis_label(y.name)
    )
    rows = groups["front"] + groups["dominated"] + groups["infeasible"]
    parcoords = go.Figure(
        go.Parcoords(
            line={
                "color": [0 if a.ranks.get(r.number) == 0 else 1 for r in rows],
                "colorscale": [[0, FRONT], [1, GREY]],
            },
            dimensions=[
                {"label": axis_label(o.name), "values": [r.metrics[o.name] for r in rows]}
                for o in a.objectives
            ],
        )
    )
    parcoords.update_layout(title="All objectives (blue: Pareto-optimal)")
    hv = go.Figure(
        go.Scatter(
            x=[p.spent_eur for p in a.history],
            y=[p.hypervolume for p in a.history],
            mode="lines",
            line={"shape": "hv"},
            text=[f"trial {p.trial_number}" for p in a.history],
        )
    )
    hv.update_layout(
        title="Hypervolume against € spent",
        xaxis_title="sweep spend so far (€)",
        yaxis_title="hypervolume (share of reference box)",
    )
    parts = [front.to_html(full_html=False, include_plotlyjs=True)]
    parts += [f.to_html(full_html=False, include_plotlyjs=False) for f in (parcoords, hv)]
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{''.join(parts)}</body></html>"
    )


def _hover(r: TrialRecord, a: ParetoAnalysis) -> str:
    vals = "<br>".join(f"{o.name}: {r.metrics[o.name]:.4g}" for o in a.objectives)
    params = ", ".join(f"{k}={v}" for k, v in r.params.items())
    return f"trial {r.number} (rank {a.ranks.get(r.number)})<br>{vals}<br>{params}"


def chart_files(a: ParetoAnalysis, title: str) -> dict[str, bytes]:
    """The review's artifacts by file name."""
    return {
        "pareto_front.png": pareto_png(a),
        "hypervolume.png": hypervolume_png(a),
        "cost_breakdown.png": breakdown_png(a),
        "pareto_interactive.html": interactive_html(a, title).encode(),
    }
