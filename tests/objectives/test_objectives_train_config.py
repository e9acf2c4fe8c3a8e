"""LoraTrainConfig validation: every rule fails with the field and the value."""

from __future__ import annotations

import pytest

from objectives import LoraTrainConfig, TrainConfigError


def test_defaults_are_valid() -> None:
    config = LoraTrainConfig()
    assert config.r == 8 and config.target_modules == ["q_proj", "v_proj"]
    assert LoraTrainConfig(max_steps=40, warmup_ratio=0.1).warmup_steps == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("r", 0),
        ("r", 2.5),
        ("r", True),
        ("alpha", 0),
        ("alpha", 16.0),
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("max_steps", 0),
        ("batch_size", 0),
        ("seq_len", 8),
        ("lora_dropout", 1.0),
        ("warmup_ratio", -0.1),
        ("weight_decay", -1),
        ("target_modules", []),
        ("target_modules", "q_proj"),
        ("target_modules", ["q_proj", ""]),
        ("lr_scheduler", "exponential"),
        ("train_task", "sweeper_general"),
        ("train_task", "nope"),
    ],
)
def test_invalid_values_are_rejected_with_field_and_value(field: str, value: object) -> None:
    with pytest.raises(TrainConfigError, match=f"`{field}`.*{field}="):
        LoraTrainConfig(**{field: value})


def test_all_linear_and_tuples_are_accepted() -> None:
    assert LoraTrainConfig(target_modules="all-linear").target_modules == "all-linear"
    assert LoraTrainConfig(target_modules=("q_proj", "k_proj")).target_modules == [
        "q_proj",
        "k_proj",
    ]
