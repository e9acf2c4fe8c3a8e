"""The recipe's pure parts: the work cache, constraints, the conditional space, serving prices."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import optuna
import pytest

from sweeper.recipe import WorkCache, cache_key, constraint_values, feasible
from sweeper.search import recipe_settings, suggest
from sweeper.study import load_study

REPO = Path(__file__).resolve().parents[3]


# --- the work cache -------------------------------------------------------------------------------


def test_cache_builds_once_then_hits(tmp_path: Path) -> None:
    cache = WorkCache(tmp_path)
    calls = []

    def build(folder: Path) -> dict:
        calls.append(folder)
        (folder / "adapter.bin").write_bytes(b"weights")
        return {"seconds": 12.5}

    first = cache.get_or_build("lora", {"r": 8}, build)
    second = cache.get_or_build("lora", {"r": 8}, build)
    other = cache.get_or_build("lora", {"r": 16}, build)
    assert len(calls) == 2
    assert (first.hit, second.hit, other.hit) == (False, True, False)
    assert second.path == first.path and (second.path / "adapter.bin").read_bytes() == b"weights"
    assert second.build_seconds == 12.5  # what a hit saved
    assert other.key != first.key


def test_cache_key_ignores_dict_order() -> None:
    assert cache_key("lora", {"a": 1, "b": [1, 2]}) == cache_key("lora", {"b": [1, 2], "a": 1})
    assert cache_key("lora", {"a": 1}) != cache_key("eval", {"a": 1})


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    cache = WorkCache(tmp_path)

    def broken(folder: Path) -> dict:
        (folder / "half.bin").write_bytes(b"x")
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        cache.get_or_build("lora", {"r": 8}, broken)
    assert cache.lookup("lora", cache_key("lora", {"r": 8})) is None
    again = cache.get_or_build("lora", {"r": 8}, lambda folder: {"seconds": 1.0})
    assert again.hit is False
    assert not any(p.name.endswith(".staging") for p in (tmp_path / "lora").iterdir())


def _build_in_process(root: str, log: str, start_at: float) -> bool:
    while time.time() < start_at:  # all processes ask at the same moment
        time.sleep(0.001)

    def build(folder: Path) -> dict:
        with open(log, "a") as fh:
            fh.write("built\n")
        time.sleep(0.5)
        return {"seconds": 0.5}

    return WorkCache(root).get_or_build("lora", {"r": 8}, build).hit


def test_concurrent_workers_build_once(tmp_path: Path) -> None:
    log = tmp_path / "builds.log"
    start_at = time.time() + 1.5
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        hits = pool.starmap(_build_in_process, [(str(tmp_path / "cache"), str(log), start_at)] * 3)
    assert log.read_text().count("built") == 1
    assert sorted(hits) == [False, True, True]


# --- constraints ----------------------------------------------------------------------------------


def test_constraint_values_follow_optuna_convention() -> None:
    study = load_study(REPO / "studies" / "recipe.yaml").spec
    (c,) = study.constraints
    kept = constraint_values([c], {"retention": 0.62}, {"retention": 0.65})
    lost = constraint_values([c], {"retention": 0.55}, {"retention": 0.65})
    assert kept[c.label] == pytest.approx(-0.02) and feasible(kept)
    assert lost[c.label] == pytest.approx(0.05) and not feasible(lost)
    missing = constraint_values([c], {}, {"retention": 0.65})
    assert not feasible(missing)


# --- the conditional search space -----------------------------------------------------------------


def test_merge_parameters_exist_only_when_merging() -> None:
    space = load_study(REPO / "studies" / "recipe.yaml").spec.search_space
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = {"none": 0, "linear": 0, "ties": 0}
    for _ in range(60):
        trial = study.ask()
        params = suggest(trial, space)
        method = params["merge_method"]
        seen[method] += 1
        assert ("merge_weight" in trial.params) == (method != "none")
        assert ("merge_density" in trial.params) == (method == "ties")
        settings = recipe_settings(params)
        assert settings.merges == (method != "none")
        assert settings.quantization in ("fp32", "int8", "int4")
        study.tell(trial, 0.0)
    assert all(seen.values())


# --- prices of a recipe ---------------------------------------------------------------------------


def test_int4_serving_is_cheaper_than_fp32_and_memory_fit_rejects() -> None:
    from sweeper.costing import PricingContext, project_serving, training_memory_fit
    from sweeper.search import lora_settings

    spec = load_study(REPO / "studies" / "quantize.yaml").spec
    ctx = PricingContext.load()
    fp32 = project_serving(spec, "fp32", ctx)
    int4 = project_serving(spec, "nf4", ctx)
    assert int4.serving_memory_gib < fp32.serving_memory_gib
    assert int4.serving_tokens_per_second > fp32.serving_tokens_per_second
    assert int4.cost_eur_serving_month < fp32.cost_eur_serving_month
    lora = lora_settings(
        {
            "lora_r": 16,
            "lora_alpha_ratio": 2,
            "learning_rate": 1e-3,
            "target_modules": "all_linear",
            "epochs": 1,
            "lora_dropout": 0.0,
        }
    )
    big = spec.model_copy(
        update={"projection": spec.projection.model_copy(update={"model": "llama-3-70b"})}
    )
    fit = training_memory_fit(big, lora, ctx, target_instance="g5.xlarge")
    assert not fit.fits and "does not fit" in fit.reason() and "g5.xlarge" in fit.reason()
    assert training_memory_fit(spec, lora, ctx).fits
