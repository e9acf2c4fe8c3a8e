"""One trial end to end through the one pipeline (``run_recipe``) on the tiny random model
(seconds, no network): what ``objectives.run_lora_trial`` was tested for before it was removed."""

from __future__ import annotations

import json
from pathlib import Path

from objectives import LoraTrainConfig
from sweeper.recipe import WorkCache, recipe_keys, run_recipe
from tests.sweeper.recipe.one_trial import one_trial

QUICK = LoraTrainConfig(max_steps=3, batch_size=2, seq_len=96, r=4, learning_rate=1e-3)


def test_one_trial_trains_saves_the_adapter_and_scores_every_task(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    cache = WorkCache(tmp_path / "cache")
    recipe = one_trial(
        tiny_model_dir, QUICK, ("sweeper_json_extract", "sweeper_general"), eval_limit=4
    )
    result = run_recipe(recipe, cache)
    assert set(result.scores) == {"sweeper_json_extract", "sweeper_general"}
    lora = result.step("lora")
    assert lora is not None and not lora.hit and lora.seconds > 0
    adapter = cache.lookup("lora", recipe_keys(recipe, cache.hashes)["lora"])
    assert adapter is not None and adapter.meta["steps"] == 3
    assert (adapter.path / "adapter_config.json").is_file()
    assert result.tokens_trained > 0 and result.trainable_params > 0
    assert result.tokens_evaluated == sum(s.tokens for s in result.scores.values()) > 0
    assert result.eval_seconds > 0 and result.train_seconds >= lora.seconds
    assert all(s.n_samples == 4 for s in result.scores.values())


def test_a_base_model_without_chat_template_trains_and_evaluates_on_plain_prompts(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tmp_path / "base-model"
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    tokenizer.chat_template = None
    tokenizer.save_pretrained(base)
    AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)).save_pretrained(base)
    assert not json.loads((base / "tokenizer_config.json").read_text()).get("chat_template")
    assert not (base / "chat_template.jinja").exists()

    train = tmp_path / "train.jsonl"
    train.write_text(
        "".join(
            json.dumps({"question": f"Q: {a}+{b}=", "answer": f" {a + b}"}) + "\n"
            for a in range(4)
            for b in range(4)
        )
    )
    recipe = one_trial(
        base,
        LoraTrainConfig(max_steps=2, batch_size=2, seq_len=64, r=4),
        ("sweeper_general", "sweeper_json_extract"),
        eval_limit=2,
        eval_batch_size=2,
        train_file=train,
        data_fields=(("prompt", "question"), ("completion", "answer")),
    )
    cache = WorkCache(tmp_path / "cache")
    result = run_recipe(recipe, cache)
    adapter = cache.lookup("lora", recipe_keys(recipe, cache.hashes)["lora"])
    assert adapter is not None and adapter.meta["steps"] == 2 and result.tokens_trained > 0
    assert set(result.scores) == {"sweeper_general", "sweeper_json_extract"}
    assert all(score.n_samples == 2 for score in result.scores.values())
    assert recipe.load.device == "cpu"
