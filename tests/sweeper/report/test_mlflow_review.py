"""A real (tiny) sweep: the review lands in MLflow, and the report's numbers are MLflow's."""

from __future__ import annotations

import math
import re
from pathlib import Path

import mlflow
import pytest

from sweeper.cli import main
from sweeper.report._html import eur
from tests.sweeper.report.test_report_html import report_data, visible_text


def sweep_and_report(study: Path, tmp_path: Path, tracking: str) -> tuple[dict, str, Path]:
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    assert main(["run", str(study), "--storage", storage, "--tracking-uri", tracking]) == 0
    out = tmp_path / "reports" / "tiny.html"
    argv = ["report", str(study), "--storage", storage, "--tracking-uri", tracking]
    assert main([*argv, "--out", str(out)]) == 0
    html = out.read_text()
    return report_data(html), html, out


def check_review_in_mlflow(tracking: str, data: dict, html: str) -> tuple[str, str]:
    """The parent run has the review metrics and artifacts, trial runs the pareto tags, and every
    number of the report equals the MLflow metric it came from. Returns (experiment, parent)."""
    client = mlflow.tracking.MlflowClient(tracking_uri=tracking)
    exp = client.get_experiment_by_name("tiny")
    parent = client.get_run(data["parent_run_id"])
    assert parent.data.tags["sweeper.role"] == "parent"
    # Report numbers == parent metrics.
    for key, value in data["parent_metrics"].items():
        assert key in parent.data.metrics, key
        assert math.isclose(parent.data.metrics[key], value, rel_tol=1e-9, abs_tol=1e-12), key
    for key in (
        "hypervolume",
        "best_quality",
        "spent_eur_total",
        "trials_complete",
        "cheapest_within_tol_cost_eur_train_projected",
        "knee_trial",
    ):
        assert key in parent.data.metrics, key
    # Recommended configuration == its trial run's metrics.
    rec = data["recommendations"]["cheapest_within_tolerance"]
    child = client.get_run(rec["mlflow_run_id"])
    assert child.data.tags["sweeper.trial_number"] == str(rec["trial"])
    for key in ("quality", "quality_stderr", "cost_eur_train_projected"):
        assert math.isclose(child.data.metrics[key], rec[key], rel_tol=1e-9), key
    text = visible_text(html)
    assert eur(rec["cost_eur_train_projected"]) in text
    # Tags: the front is filterable in the UI, with ranks.
    front = client.search_runs([exp.experiment_id], "tags.pareto = 'true'")
    assert sorted(int(r.data.tags["sweeper.trial_number"]) for r in front) == sorted(
        row["trial"] for row in data["pareto"]
    )
    assert all(r.data.tags["pareto_rank"] == "0" for r in front)
    # Artifacts: charts at the sweep's end, the report from `sweeper report`.
    names = {a.path for a in client.list_artifacts(parent.info.run_id, "pareto")}
    assert {
        f"pareto/{n}"
        for n in (
            "pareto_front.png",
            "hypervolume.png",
            "cost_breakdown.png",
            "pareto_interactive.html",
        )
    } <= names
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "report")] == [
        "report/tiny.html"
    ]
    interactive = client.download_artifacts(parent.info.run_id, "pareto/pareto_interactive.html")
    assert not re.search(r'src="https?://', Path(interactive).read_text())  # opens offline
    return exp.experiment_id, parent.info.run_id


def test_sweep_review_and_report_match_mlflow(tiny_study: Path, tmp_path: Path) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    data, html, _ = sweep_and_report(tiny_study, tmp_path, tracking)
    check_review_in_mlflow(tracking, data, html)


def test_report_without_a_parent_run_still_writes(tiny_study: Path, tmp_path: Path, capsys):
    pytest.importorskip("optuna")
    from tests.sweeper.report.synthetic import synthetic_study

    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    synthetic_study(12, storage=storage, name="tiny")
    out = tmp_path / "r.html"
    tracking = f"sqlite:///{tmp_path / 'absent.db'}"
    argv = ["report", str(tiny_study), "--storage", storage, "--tracking-uri", tracking]
    assert main([*argv, "--out", str(out)]) == 0
    assert out.exists() and "not logged" in capsys.readouterr().out
