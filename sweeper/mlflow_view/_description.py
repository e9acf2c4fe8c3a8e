"""The parent run's description (``mlflow.note.content``, markdown): the summary and the link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The run tag MLflow's UI shows (and edits) as a run's description.
DESCRIPTION_TAG = "mlflow.note.content"


@dataclass(frozen=True)
class StudySummary:
    """What the description states about a study (values in the objectives' units, euros)."""

    study_name: str
    trials_complete: int
    trials_total: int
    spent_eur_total: float
    quality: str
    best_quality: float | None
    front_trials: Sequence[int]
    recommended_trial: int | None
    recommended_why: str | None = None


def parent_description(summary: StudySummary, view_url: str, how: str | None = None) -> str:
    """Markdown for the parent run: how far the sweep is, the front, the recommendation, and the
    link to the Pareto view."""
    best = "-" if summary.best_quality is None else f"{summary.best_quality:.4f}"
    front = ", ".join(f"#{n}" for n in summary.front_trials) or "none yet"
    lines = [
        f"**Sweep `{summary.study_name}`**: {summary.trials_complete} of "
        f"{summary.trials_total} trials complete, €{summary.spent_eur_total:.4f} spent.",
        "",
        f"- best {summary.quality}: {best}",
        f"- Pareto-optimal trials (runs coloured red, tag `pareto = true`): {front}",
    ]
    if summary.recommended_trial is not None:
        rec = f"- recommended: trial #{summary.recommended_trial}"
        if summary.recommended_why:
            rec += f" ({summary.recommended_why})"
        lines.append(rec)
    lines += ["", f"**[Open the Pareto view]({view_url})**"]
    if how:
        lines.append(f"(start the UI first: `{how}`)")
    return "\n".join(lines)
