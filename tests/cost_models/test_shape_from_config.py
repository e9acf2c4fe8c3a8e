"""``shape_from_config``: a model's shape from its parsed ``config.json`` (pure, no transformers).

The fixtures in tests/data/configs are the published configs of 7B-class models, written out by
hand; their parameter counts are the published ones.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cost_models import InvalidInputError, model_shape, shape_from_config

CONFIGS = Path(__file__).resolve().parents[1] / "data" / "configs"


def config(name: str) -> dict:
    return json.loads((CONFIGS / name / "config.json").read_text())


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("llama-2-7b", 6.74e9),
        ("mistral-7b", 7.24e9),
        ("qwen2.5-7b", 7.6e9),
        ("phi-3-mini", 3.82e9),
    ],
)
def test_published_configs_give_the_published_parameter_counts(name: str, params: float) -> None:
    shape = shape_from_config(config(name), name=name)
    assert shape.params == pytest.approx(params, rel=0.005)
    assert shape.params == shape.params_from_shape()


@pytest.mark.parametrize("name", ["llama-2-7b", "mistral-7b", "phi-3-mini"])
def test_a_config_and_its_preset_are_the_same_shape(name: str) -> None:
    preset = model_shape(name)
    shape = shape_from_config(config(name), name=preset.name, source=preset.source)
    assert replace(shape, params=preset.params) == preset
    assert shape.params == pytest.approx(preset.params, rel=1e-9)


def test_grouped_query_attention_and_untied_head_from_the_config() -> None:
    qwen = shape_from_config(config("qwen2.5-7b"))
    assert (qwen.layers, qwen.hidden, qwen.heads, qwen.kv_heads, qwen.head_dim) == (
        28,
        3584,
        28,
        4,
        128,
    )
    assert (qwen.intermediate, qwen.vocab, qwen.tied_embeddings) == (18944, 152064, False)


def test_absent_keys_take_the_transformer_defaults() -> None:
    # No num_key_value_heads: multi-head attention; no head_dim: hidden / heads; no
    # tie_word_embeddings: an untied output head (the larger count).
    cfg = {k: v for k, v in config("llama-2-7b").items() if k != "tie_word_embeddings"}
    cfg.pop("num_key_value_heads")
    shape = shape_from_config(cfg)
    assert (shape.kv_heads, shape.head_dim, shape.tied_embeddings) == (32, 128, False)
    assert shape.params == pytest.approx(6_738_415_616)


def test_older_key_spellings_and_a_multimodal_text_config() -> None:
    gpt_style = {"n_layer": 2, "n_embd": 64, "n_head": 4, "n_inner": 128, "vocab_size": 100}
    shape = shape_from_config(gpt_style)
    assert (shape.layers, shape.hidden, shape.heads, shape.head_dim, shape.intermediate) == (
        2,
        64,
        4,
        16,
        128,
    )
    wrapped = shape_from_config({"model_type": "llava", "text_config": config("mistral-7b")})
    assert wrapped == shape_from_config(config("mistral-7b"))


def test_a_config_without_a_size_names_the_keys_it_needs() -> None:
    cfg = config("mistral-7b")
    del cfg["intermediate_size"]
    with pytest.raises(InvalidInputError, match="intermediate_size or ffn_dim or n_inner"):
        shape_from_config(cfg)


@pytest.mark.parametrize("bad", [0, -4, "32", 3.5, True])
def test_a_size_that_is_not_a_positive_integer_is_refused(bad: object) -> None:
    cfg = {**config("mistral-7b"), "num_hidden_layers": bad}
    with pytest.raises(InvalidInputError, match=f"num_hidden_layers={bad!r}"):
        shape_from_config(cfg)


def test_a_mixture_of_experts_is_refused_rather_than_undercounted() -> None:
    cfg = {**config("mistral-7b"), "num_local_experts": 8, "num_experts_per_tok": 2}
    with pytest.raises(InvalidInputError, match="num_local_experts=8"):
        shape_from_config(cfg)
