"""The recipe on the real bundled SmolLM2-135M: one LoRA, served at fp32 and at int4 (minutes).

The shipped `studies/quantize.yaml` with its eval subset halved and only the two ends of the
quantization range: int4 must cost measurably less to serve and score measurably lower than fp32
(by more than the two standard errors together), and the second trial must reuse the LoRA.
"""

from __future__ import annotations

import math
from pathlib import Path

import mlflow
import optuna
import pytest
import yaml

from sweeper.cli import main
from tests.conftest import write_study

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_int4_is_cheaper_to_serve_and_measurably_worse_than_fp32(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "studies" / "quantize.yaml").read_text())
    data["search_space"]["quantization"] = {"choices": ["fp32", "int4"]}
    data["eval"]["tasks"] = {"quality": "sweeper_json_extract"}
    data["eval"]["limit"] = 40
    study = write_study(tmp_path / "quantize-small.yaml", data)
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["run", str(study), "--storage", storage, "--tracking-uri", tracking, "--no-baseline"]
    assert main(args) == 0

    trials = optuna.load_study(study_name="quantize", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    by_level = {t.params["quantization"]: t.user_attrs["metrics"] for t in trials}
    fp32, int4 = by_level["fp32"], by_level["int4"]
    assert int4["cost_eur_serving_month"] < fp32["cost_eur_serving_month"]
    assert int4["model_size_bytes"] < 0.5 * fp32["model_size_bytes"]
    gap = fp32["quality"] - int4["quality"]
    assert gap > math.hypot(fp32["quality_stderr"], int4["quality_stderr"]), (fp32, int4)
    assert [t.user_attrs["cache"]["lora"] for t in trials] == [False, True]
    assert trials[1].user_attrs["metrics"]["cost_eur_train_trial"] == 0.0

    mlflow.set_tracking_uri(tracking)
    df = mlflow.search_runs(experiment_names=["quantize"])
    children = df[df["tags.sweeper.role"] == "trial"]
    assert set(children["params.quantization"]) == {"fp32", "int4"}
    assert children["metrics.cost_eur_serving_month"].notna().all()
    assert set(children["tags.sweeper.cache.lora"]) == {"miss", "hit"}
