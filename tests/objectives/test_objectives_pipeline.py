"""Training and evaluation on the tiny random model (seconds, no network). One trial end to end
(train, merge in, quantize, evaluate) is tested on the one pipeline, in
tests/sweeper/recipe/test_recipe_pipeline.py."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from objectives import (
    TASKS,
    LoraTrainConfig,
    ObjectiveError,
    TaskScore,
    TrainConfigError,
    UnknownTaskError,
    evaluate,
    evaluate_base_model,
    load_model,
    train_lora,
)
from objectives.evaluate import score_from_results
from objectives.registry import get_task
from objectives.task_data import PromptCompletion
from objectives.train import IGNORE_INDEX, build_training_examples

QUICK = LoraTrainConfig(max_steps=3, batch_size=2, seq_len=96, r=4, learning_rate=1e-3)


def test_prompt_tokens_are_masked_and_answer_ends_the_turn(tiny_model_dir: Path) -> None:
    _, tokenizer = load_model(str(tiny_model_dir))
    example = PromptCompletion("Extract: Tom from Oslo ordered 2 mugs.", '{"name": "Tom"}')
    [row], truncated = build_training_examples(tokenizer, [example], seq_len=512)
    assert truncated == 0
    answer_at = row["labels"].index(next(x for x in row["labels"] if x != IGNORE_INDEX))
    assert all(label == IGNORE_INDEX for label in row["labels"][:answer_at])
    assert row["labels"][answer_at:] == row["input_ids"][answer_at:]
    assert tokenizer.decode(row["input_ids"][answer_at:]) == '{"name": "Tom"}<|im_end|>'
    prompt = tokenizer.decode(row["input_ids"][:answer_at])
    assert prompt.endswith("<|im_start|>assistant\n")


def test_too_short_seq_len_is_explained(tiny_model_dir: Path) -> None:
    _, tokenizer = load_model(str(tiny_model_dir))
    example = PromptCompletion("A long prompt " * 10, "answer")
    with pytest.raises(TrainConfigError, match="seq_len=16"):
        build_training_examples(tokenizer, [example], seq_len=16)


def test_train_lora_reports_steps_tokens_and_losses(tiny_model_dir: Path) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    seen: list[int] = []
    peft_model, result = train_lora(
        model, tokenizer, QUICK, callback=lambda step, logs: seen.append(step)
    )
    assert result.steps == 3 and seen == [1, 2, 3]
    assert len(result.loss_history) == 3 and all(math.isfinite(x) for x in result.loss_history)
    assert result.final_loss == result.loss_history[-1]
    assert 0 < result.tokens_trained <= 3 * QUICK.batch_size * QUICK.seq_len
    assert 0 < result.trainable_params < result.total_params
    assert result.train_seconds > 0 and result.seconds_per_step > 0
    assert not peft_model.training


def test_training_is_deterministic(tiny_model_dir: Path) -> None:
    losses = []
    for _ in range(2):
        model, tokenizer = load_model(str(tiny_model_dir))
        losses.append(train_lora(model, tokenizer, QUICK)[1].loss_history)
    assert losses[0] == losses[1]


def test_a_raising_callback_stops_training(tiny_model_dir: Path) -> None:
    class Pruned(Exception):
        pass

    def prune(step: int, logs: dict[str, float]) -> None:
        raise Pruned(step)

    model, tokenizer = load_model(str(tiny_model_dir))
    with pytest.raises(Pruned):
        train_lora(model, tokenizer, QUICK, callback=prune)


def test_evaluate_scores_every_task(tiny_model_dir: Path) -> None:
    model, tokenizer = load_model(str(tiny_model_dir))
    scores = evaluate(model, tokenizer, list(TASKS), limit=4, batch_size=4)
    assert set(scores) == set(TASKS)
    for name, score in scores.items():
        assert isinstance(score, TaskScore)
        assert score.metric == TASKS[name].metric
        assert score.n_samples == 4
        assert 0.0 <= score.value <= 1.0
        assert score.all_metrics[score.metric] == score.value
        assert f"{score.metric}_stderr" in score.all_metrics
        assert score.tokens > 0 and score.seconds > 0
    assert {"json_valid", "exact_match"} <= set(scores["sweeper_json_extract"].all_metrics)


def test_evaluate_rejects_bad_arguments_before_any_work(tiny_model_dir: Path) -> None:
    with pytest.raises(UnknownTaskError, match="Available"):
        evaluate(object(), object(), ["nope"])
    with pytest.raises(ObjectiveError, match="limit"):
        evaluate(object(), object(), ["sweeper_general"], limit=0)


def test_evaluate_base_model(tiny_model_dir: Path) -> None:
    scores = evaluate_base_model(str(tiny_model_dir), ["sweeper_general"], eval_limit=4)
    assert scores["sweeper_general"].n_samples == 4


def test_evaluate_base_model_checks_its_arguments_before_loading() -> None:
    with pytest.raises(UnknownTaskError):
        evaluate_base_model("m", ["nope"])
    with pytest.raises(ObjectiveError, match="eval_limit"):
        evaluate_base_model("m", ["sweeper_general"], eval_limit=0)


def test_score_from_results_converts_lm_eval_values() -> None:
    spec = get_task("sweeper_general")
    results = {
        "alias": "sweeper_general",
        "sample_len": 60,
        "acc,none": np.float64(0.5),
        "acc_stderr,none": "N/A",
    }
    score = score_from_results(spec, results)
    assert score.value == 0.5 and type(score.value) is float
    assert math.isnan(score.stderr)
    assert score.n_samples == 60
    with pytest.raises(ObjectiveError, match="no 'acc'"):
        score_from_results(spec, {"acc_norm,none": 0.1})
