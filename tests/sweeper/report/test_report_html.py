"""``sweeper report`` on a finished study: one self-contained HTML file that says what to buy."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sweeper.cli import main
from sweeper.report._html import eur, score


def report_data(html: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert found
    return json.loads(found.group(1))


def visible_text(html: str) -> str:
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_states_recommendation_costs_and_commitment(
    synth_study_file: Path, synth_storage: str, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "reports" / "synth.html"
    assert (
        main(
            [
                "report",
                str(synth_study_file),
                "--storage",
                synth_storage,
                "--no-mlflow",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    html = out.read_text()
    # Self-contained: no external scripts, styles or images.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert html.count("data:image/png;base64,") == 3
    data = report_data(html)
    text = visible_text(html)
    rec = data["recommendations"]["cheapest_within_tolerance"]
    assert f"Recommendation: trial #{rec['trial']}" in text
    for value in (rec["cost_eur_train_projected"], rec["cost_eur_serving_month"]):
        assert eur(value) in text
    assert score(rec["quality"]) in text and score(rec["quality_stderr"]) in text
    assert rec["train_instance"] in text and rec["serving_instance"] in text
    commitment = data["commitment"]
    assert commitment["recommendation"] in {"on_demand", "spot", "reserved_1y", "reserved_3y"}
    assert commitment["reason"] in text and "Break-even utilization" in text
    assert "25% cheaper a year" in text  # the obsolescence assumption
    for key in ("Price catalog", "Exchange rate", "Training price", "Serving price"):
        assert key in data["assumptions"] and key in text
    assert "ECB" in data["assumptions"]["Exchange rate"]
    # The sweep's own cost by state, and its total, as shown.
    metrics = data["parent_metrics"]
    assert eur(metrics["spent_eur_total"]) in text
    assert {"COMPLETE", "FAIL", "PRUNED"} <= set(data["spent_eur_by_state"])
    # Every Pareto-optimal configuration is in the table.
    for row in data["pareto"]:
        assert f"#{row['trial']}" in text
    assert "recommended: trial" in capsys.readouterr().out


def test_report_can_be_repriced(synth_study_file: Path, synth_storage: str, tmp_path: Path):
    out = tmp_path / "repriced.html"
    argv = [
        "report",
        str(synth_study_file),
        "--storage",
        synth_storage,
        "--no-mlflow",
        "--out",
        str(out),
        "--instance",
        "p5.48xlarge",
        "--provider",
        "aws",
        "--pricing",
        "spot",
    ]
    assert main(argv) == 0
    data = report_data(out.read_text())
    assert "p5.48xlarge spot" in data["repriced"]
    rec = data["recommendations"]["cheapest_within_tolerance"]
    assert rec["train_instance"] == "aws/p5.48xlarge" and rec["train_pricing"] == "spot"
