"""The pure parts of the hand-off: ``recipe.yaml`` and the parent run's description."""

from __future__ import annotations

import yaml

from sweeper.handoff import MergeRebuild, RebuildRecipe, recipe_yaml
from sweeper.mlflow_view import StudySummary, parent_description

LORA = {"lora_r": 8, "lora_alpha": 16, "learning_rate": 0.001, "target_modules": "q_v"}


def test_recipe_yaml_of_a_merged_quantized_trial_states_every_rebuild_step() -> None:
    recipe = RebuildRecipe(
        study="demo",
        trial=7,
        base_model="builtin:smollm2-135m-instruct",
        lora=LORA,
        merge=MergeRebuild(
            "ties", 0.7, 0.5, "float32", 0, ({"name": "dates", "train": "d.jsonl"},)
        ),
        quantization="int8",
        serving_instance="aws/g6.xlarge",
        metrics={"quality": 0.61},
    )
    text = recipe_yaml(recipe)
    assert text.startswith("# Trial 7 of study 'demo', rebuilt from its LoRA adapter:\n")
    assert "#   2. merge it with the partners (ties, mergekit)\n#   3. quantize to int8\n" in text
    data = yaml.safe_load(text)
    assert data["merge"] == {
        "method": "ties",
        "weight": 0.7,
        "density": 0.5,
        "dtype": "float32",
        "seed": 0,
        "partners": [{"name": "dates", "train": "d.jsonl"}],
    }
    assert (data["quantization"], data["serving_instance"], data["adapter"]) == (
        "int8",
        "aws/g6.xlarge",
        "adapter",
    )
    assert "#   model = PeftModel.from_pretrained(base, 'adapter')\n" in text


def test_recipe_yaml_without_merge_folds_the_adapter_in() -> None:
    recipe = RebuildRecipe("demo", 1, "m", LORA, None, "fp32", None, {})
    text = recipe_yaml(recipe)
    assert "#   2. merge the adapter into the base weights (merge_and_unload)" in text
    assert yaml.safe_load(text)["merge"] is None


def test_parent_description_states_summary_and_link() -> None:
    summary = StudySummary("demo", 5, 6, 0.0123, "quality", 0.61234, (2, 4), 4, "Knee")
    text = parent_description(summary, "http://x/#/experiments/1/runs?viewStateShareKey=k")
    assert text.splitlines() == [
        "**Sweep `demo`**: 5 of 6 trials complete, €0.0123 spent.",
        "",
        "- best quality: 0.6123",
        "- Pareto-optimal trials (runs coloured red, tag `pareto = true`): #2, #4",
        "- recommended: trial #4 (Knee)",
        "",
        "**[Open the Pareto view](http://x/#/experiments/1/runs?viewStateShareKey=k)**",
    ]
    local = parent_description(
        summary, "http://127.0.0.1:5000/#/x", "mlflow ui --backend-store-uri sqlite:///m.db"
    )
    assert local.endswith("(start the UI first: `mlflow ui --backend-store-uri sqlite:///m.db`)")
