"""The Pareto view's encoding (MLflow's saved-view envelope), its link and the version gate."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from sweeper.mlflow_view import (
    VIEW_NAME,
    ParetoViewSpec,
    ViewObjective,
    decode_view,
    encode_view,
    pareto_view_state,
    view_key,
    view_link,
    views_supported,
)
from sweeper.mlflow_view._state import MAX_ENVELOPE_CHARS

SPEC = ParetoViewSpec(
    objectives=(
        ViewObjective("quality", "maximize"),
        ViewObjective("cost_eur_train_projected", "minimize"),
        ViewObjective("cost_eur_serving_month", "minimize"),
    ),
    quality="quality",
    key_params=("lora_r", "quantization"),
    study_name="demo",
)


def test_state_has_one_scatter_per_cost_objective_with_quality_on_y() -> None:
    state = pareto_view_state(SPEC, ["quality", "retention", "cost_eur_trial"])
    live = [c for c in state["compareRunCharts"] if not c["deleted"]]
    assert [(c["type"], c["xaxis"]["key"], c["yaxis"]["key"]) for c in live] == [
        ("SCATTER", "cost_eur_train_projected", "quality"),
        ("SCATTER", "cost_eur_serving_month", "quality"),
    ]
    assert all(c["xaxis"]["type"] == c["yaxis"]["type"] == "METRIC" for c in live)
    # Every metric (objectives included) has a deleted chart, so MLflow generates none.
    hidden = {c["metricKey"] for c in state["compareRunCharts"] if c["deleted"]}
    assert hidden == {
        "quality",
        "retention",
        "cost_eur_trial",
        "cost_eur_train_projected",
        "cost_eur_serving_month",
    }
    assert [(s["name"], s["columns"]) for s in state["compareRunSections"]] == [("Pareto", 2)]
    assert state["runsHiddenMode"] == "SHOW_ALL"  # every trial is a point, not the first 10


def test_state_columns_sort_and_filter() -> None:
    state = pareto_view_state(SPEC)
    assert state["selectedColumns"] == [
        "metrics.`quality`",
        "metrics.`cost_eur_train_projected`",
        "metrics.`cost_eur_serving_month`",
        "params.`lora_r`",
        "params.`quantization`",
        "tags.`pareto`",
        "tags.`pareto_rank`",
    ]
    assert (state["orderByKey"], state["orderByAsc"]) == ("metrics.`quality`", False)
    assert state["searchFilter"] == (
        "tags.`sweeper.role` = 'trial' and tags.`sweeper.study_name` = 'demo'"
    )
    # What a share cannot carry is not written (MLflow's UI drops these keys).
    assert not {"runsExpanded", "runsPinned", "runsHidden"} & set(state)


def test_envelope_round_trip_and_pako_compatible_compression() -> None:
    state = pareto_view_state(SPEC, [f"m{i}" for i in range(40)])
    value = encode_view(VIEW_NAME, state, 1_000, 2_000)
    envelope = json.loads(value)
    assert set(envelope) == {"name", "createdAt", "updatedAt", "state"}
    assert envelope["state"].startswith("deflate;")
    # pako.inflate reads zlib streams: the UI's decompression of our payload.
    raw = zlib.decompress(base64.b64decode(envelope["state"][len("deflate;") :]))
    assert json.loads(raw) == state
    view = decode_view(value)
    assert (view.name, view.created_ms, view.updated_ms, view.state) == (
        "Pareto",
        1_000,
        2_000,
        state,
    )
    assert len(value) <= MAX_ENVELOPE_CHARS


def test_an_oversized_view_is_refused_with_the_limit() -> None:
    huge = {"searchFilter": "".join(f"{i:x}" for i in range(200_000))}
    with pytest.raises(ValueError, match="at most 20000 characters, but got"):
        encode_view("Pareto", huge, 0, 0)


def test_view_key_is_a_stable_uuid_per_study_and_storage() -> None:
    key = view_key("demo", "abc")
    assert key == view_key("demo", "abc") != view_key("demo", "abd")
    assert len(key) == 36 and key.count("-") == 4


def test_link_for_a_server_and_for_a_local_store() -> None:
    server = view_link("http://mlflow:5000/", "7", "k", "3.17.2")
    assert server.url == (
        "http://mlflow:5000/#/experiments/7/runs?viewStateShareKey=k&compareRunsMode=CHART"
    )
    assert server.lines() == [f"Pareto view: {server.url}"]
    # Credentials in the tracking URI never reach the printed link (or the study storage).
    secret = view_link("https://bob:s3cret@mlflow.example:8443/ml/", "7", "k", "3.17.2")
    assert secret.url.startswith("https://mlflow.example:8443/ml/#/experiments/7/runs?")
    local = view_link("sqlite:////tmp/mlflow.db", "7", "k", "3.18.0")
    assert local.lines() == [
        "Pareto view: mlflow ui --backend-store-uri sqlite:////tmp/mlflow.db, then open "
        "http://127.0.0.1:5000/#/experiments/7/runs?viewStateShareKey=k&compareRunsMode=CHART"
    ]


@pytest.mark.parametrize(
    ("version", "supported"),
    [("3.17.2", True), ("3.18.0rc1", True), ("4.0", True), ("3.16.1", False), ("2.22.0", False)],
)
def test_version_gate(version: str, supported: bool) -> None:
    assert views_supported(version) is supported


def test_old_mlflow_gets_one_line_and_the_runs_page() -> None:
    link = view_link("http://mlflow:5000", "7", "k", "3.10.0")
    assert link.url == "http://mlflow:5000/#/experiments/7/runs"
    assert link.lines() == [
        "MLflow 3.10.0 has no saved runs-page views (needs >= 3.17); linking the runs page instead",
        "Pareto view: http://mlflow:5000/#/experiments/7/runs",
    ]
