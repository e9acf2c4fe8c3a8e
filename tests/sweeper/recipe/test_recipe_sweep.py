"""Recipe studies end to end on the tiny random model: merge, quantize, cache hits, rejection,
constraints, hardware as a dimension -- through the real CLI, Optuna storage and MLflow store."""

from __future__ import annotations

import copy
from pathlib import Path

import mlflow
import optuna
import yaml

from sweeper.cli import main
from tests.conftest import write_study

REPO = Path(__file__).resolve().parents[3]


def urls(tmp_path: Path) -> tuple[str, str]:
    return f"sqlite:///{tmp_path / 'sweeper.db'}", f"sqlite:///{tmp_path / 'mlflow.db'}"


def run(study: Path, tmp_path: Path, *extra: str) -> int:
    storage, tracking = urls(tmp_path)
    return main(["run", str(study), "--storage", storage, "--tracking-uri", tracking, *extra])


def children(tmp_path: Path, experiment: str):
    mlflow.set_tracking_uri(urls(tmp_path)[1])
    df = mlflow.search_runs(experiment_names=[experiment], output_format="pandas")
    return df[df["tags.sweeper.role"] == "trial"].sort_values("tags.sweeper.trial_number")


def tiny_recipe(tmp_path: Path, tiny_model_dir: Path, **overrides) -> Path:
    data = copy.deepcopy(yaml.safe_load((REPO / "studies" / "recipe.yaml").read_text()))
    data["name"] = "tiny-recipe"
    data["model"]["path"] = str(tiny_model_dir)
    data["training"] = {"steps_per_epoch": 2, "batch_size": 2, "seq_len": 64}
    data["eval"]["limit"] = 4
    data["eval"]["batch_size"] = 4
    data["search_space"]["lora_r"] = {"value": 4}
    data["search_space"]["learning_rate"] = {"value": 1.0e-3}
    data["search_space"]["quantization"] = {"choices": ["fp32", "int8"]}
    data["merge"]["partners"][0]["lora"]["r"] = 4
    data["sampler"] = {"name": "random"}
    data["trials"] = 6
    data.update(overrides)
    return write_study(tmp_path / "tiny-recipe.yaml", data)


def test_recipe_reuses_the_lora_and_does_not_charge_it_twice(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    study_file = tiny_recipe(tmp_path, tiny_model_dir)
    assert run(study_file, tmp_path) == 0
    study = optuna.load_study(study_name="tiny-recipe", storage=urls(tmp_path)[0])
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 6
    # One LoRA configuration in the space: trained by the first trial, reused by every other.
    hits = [t for t in done if t.user_attrs["cache"]["lora"]]
    misses = [t for t in done if not t.user_attrs["cache"]["lora"]]
    assert len(misses) == 1 and misses[0].number == done[0].number
    assert len(hits) == 5
    for t in hits:
        m = t.user_attrs["metrics"]
        assert m["cost_eur_train_trial"] == 0.0 and m["train_seconds"] == 0.0
        assert m["cost_eur_saved_by_cache"] > 0
    first = misses[0].user_attrs["metrics"]
    assert first["cost_eur_train_trial"] > 0
    # the conditional space: merge parameters only on merging trials, and both kinds ran
    methods = {t.params["merge_method"] for t in done}
    assert "none" in methods and methods - {"none"}
    for t in done:
        assert ("merge_weight" in t.params) == (t.params["merge_method"] != "none")
        m = t.user_attrs["metrics"]
        for key in (
            "quality",
            "retention",
            "date_skill",
            "cost_eur_serving_month",
            "serving_memory_gib",
            "model_size_bytes",
            "cost_eur_train_projected",
        ):
            assert key in m, key
    # int8 weights are smaller than fp32 ones, measured
    size = {t.params["quantization"]: t.user_attrs["metrics"]["model_size_bytes"] for t in done}
    if {"fp32", "int8"} <= set(size):
        assert size["int8"] < size["fp32"]
    # merging with the date LoRA projects the training of both adapters at full scale
    merged = [t for t in done if t.params["merge_method"] != "none"]
    plain = [t for t in done if t.params["merge_method"] == "none"]
    same_target = [
        (a, b)
        for a in merged
        for b in plain
        if a.params["target_instance"] == b.params["target_instance"]
        and a.params["target_pricing"] == b.params["target_pricing"]
    ]
    for a, b in same_target:
        assert (
            a.user_attrs["metrics"]["cost_eur_train_projected"]
            > b.user_attrs["metrics"]["cost_eur_train_projected"]
        )
    # MLflow: the cache hits, the new parameters and metrics, the feasibility tag
    df = children(tmp_path, "tiny-recipe")
    assert len(df) == 6
    assert set(df["tags.sweeper.cache.lora"]) == {"hit", "miss"}
    assert (df["tags.sweeper.cache.lora"] == "hit").sum() == 5
    for col in (
        "params.quantization",
        "params.merge_method",
        "params.serving_instance",
        "params.target_instance",
        "metrics.cost_eur_serving_month",
        "metrics.cost_eur_saved_by_cache",
        "tags.feasible",
    ):
        assert col in df.columns, col
    # the constraint is in Optuna (system attr) and in MLflow (tag), consistently
    for t in done:
        feasible = all(v <= 0 for v in t.system_attrs["constraints"])
        row = df[df["tags.sweeper.trial_number"] == str(t.number)].iloc[0]
        assert row["tags.feasible"] == ("true" if feasible else "false")
    front = {t.number for t in study.best_trials}
    assert all(all(v <= 0 for v in study.trials[n].system_attrs["constraints"]) for n in front)


def test_impossible_constraint_marks_every_trial_infeasible(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    study_file = tiny_recipe(
        tmp_path,
        tiny_model_dir,
        trials=2,
        constraints=[{"metric": "retention", "min": 2.0}],
    )
    assert run(study_file, tmp_path) == 0
    study = optuna.load_study(study_name="tiny-recipe", storage=urls(tmp_path)[0])
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.best_trials == []
    df = children(tmp_path, "tiny-recipe")
    assert set(df["tags.feasible"]) == {"false"}
    assert set(df["tags.sweeper.violated"]) == {"retention>=2"}


def test_configuration_that_cannot_fit_is_rejected_before_spending(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    data = yaml.safe_load(tiny_recipe(tmp_path, tiny_model_dir).read_text())
    data["projection"] = {"model": "llama-3-70b", "dataset_tokens": 1.0e7, "method": "lora"}
    data["search_space"]["target_instance"] = {"choices": ["g5.xlarge"]}
    data["serving"]["instance"] = None
    data["trials"] = 2
    study_file = write_study(tmp_path / "too-big.yaml", data)
    assert run(study_file, tmp_path) == 0
    study = optuna.load_study(study_name="tiny-recipe", storage=urls(tmp_path)[0])
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED"]
    for t in study.trials:
        assert t.user_attrs["metrics"]["cost_eur_trial"] == 0.0
        assert "does not fit" in t.user_attrs["fail_reason"]
        assert "cache" not in t.user_attrs  # nothing was trained or evaluated
    df = children(tmp_path, "tiny-recipe")
    assert set(df["tags.sweeper.rejected"]) == {"memory"}
    assert set(df["status"]) == {"KILLED"}
