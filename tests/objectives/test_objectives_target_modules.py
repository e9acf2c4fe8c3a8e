"""Target-module presets resolve against each model family's own linear layers; a name the model
lacks is an error that lists the model's linear modules. Models are built from configs (random
weights or the meta device), nothing is downloaded."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from objectives import LoraTrainConfig, TrainConfigError, load_model, train_lora
from objectives.assets import model_skeleton
from objectives.target_modules import (
    ALL_LINEAR,
    linear_module_paths,
    module_names,
    resolve_target_modules,
)

SMALL = {"vocab_size": 2048}


def config_folder(tmp_path: Path, name: str) -> Path:
    """A folder holding only a ``config.json`` of a small model of the family ``name``."""
    from transformers import GPT2Config, LlamaConfig, Phi3Config, PhiConfig

    configs = {
        "llama": LlamaConfig(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            **SMALL,
        ),
        "gpt2": GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=256, **SMALL),
        "phi": PhiConfig(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            **SMALL,
        ),
        "phi3": Phi3Config(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
            **SMALL,
        ),
    }
    folder = tmp_path / name
    configs[name].save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    ("family", "preset", "expected"),
    [
        ("llama", "q_v", ["q_proj", "v_proj"]),
        ("llama", "attention", ["q_proj", "k_proj", "v_proj", "o_proj"]),
        ("llama", "mlp", ["gate_proj", "up_proj", "down_proj"]),
        ("llama", "all_linear", ALL_LINEAR),
        ("gpt2", "q_v", ["c_attn"]),
        ("gpt2", "attention", ["c_attn", "attn.c_proj"]),
        ("gpt2", "mlp", ["c_fc", "mlp.c_proj"]),
        ("phi", "q_v", ["q_proj", "v_proj"]),
        ("phi", "attention", ["q_proj", "k_proj", "v_proj", "dense"]),
        ("phi", "mlp", ["fc1", "fc2"]),
        ("phi3", "q_v", ["qkv_proj"]),
        ("phi3", "attention", ["qkv_proj", "o_proj"]),
        ("phi3", "mlp", ["gate_up_proj", "down_proj"]),
    ],
)
def test_presets_resolve_to_each_familys_own_names(
    tmp_path: Path, family: str, preset: str, expected: object
) -> None:
    skeleton = model_skeleton(str(config_folder(tmp_path, family)))
    assert next(skeleton.parameters()).device.type == "meta"  # no weights allocated
    resolved = resolve_target_modules(preset, linear_module_paths(skeleton))
    if isinstance(expected, str):
        assert resolved == expected
    else:  # in the model's own order
        assert sorted(resolved) == sorted(expected) and len(resolved) == len(expected)


def test_the_output_head_is_never_a_target(tmp_path: Path) -> None:
    paths = linear_module_paths(model_skeleton(str(config_folder(tmp_path, "llama"))))
    assert "lm_head" not in paths and "model.layers.0.self_attn.q_proj" in paths
    assert module_names(paths) == [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ]


def test_a_module_the_model_lacks_lists_its_linear_modules(tmp_path: Path) -> None:
    paths = linear_module_paths(model_skeleton(str(config_folder(tmp_path, "gpt2"))))
    assert resolve_target_modules(["c_attn", "attn.c_proj"], paths) == ["c_attn", "attn.c_proj"]
    with pytest.raises(TrainConfigError) as info:
        resolve_target_modules(["q_proj", "v_proj"], paths)
    assert str(info.value) == (
        "target_modules names 'q_proj', which this model does not have; its linear modules: "
        "c_attn, attn.c_proj, c_fc, mlp.c_proj"
    )
    with pytest.raises(TrainConfigError, match="Unknown target_modules preset 'qkv'"):
        resolve_target_modules("qkv", paths)


def test_a_hub_id_offline_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from objectives import AssetError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AssetError) as info:
        model_skeleton("some-org/some-model-7b")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("Model 'some-org/some-model-7b' is not a local folder")
    assert "offline" in message


def test_a_gpt2_style_model_trains_with_a_preset(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Conv1D layers and a module name shared by attention and MLP (c_proj), trained for real."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    torch.manual_seed(0)
    GPT2LMHeadModel(
        GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=256, vocab_size=len(tokenizer))
    ).save_pretrained(tmp_path / "gpt2")
    tokenizer.save_pretrained(tmp_path / "gpt2")
    model, tokenizer = load_model(str(tmp_path / "gpt2"))
    config = LoraTrainConfig(max_steps=2, batch_size=2, seq_len=96, r=4, target_modules="attention")
    peft_model, result = train_lora(model, tokenizer, config)
    adapted = {n.rsplit(".lora_A", 1)[0] for n, _ in peft_model.named_parameters() if "lora_A" in n}
    assert {name.split(".", 5)[-1] for name in adapted} == {"attn.c_attn", "attn.c_proj"}
    assert result.steps == 2 and all(math.isfinite(x) for x in result.loss_history)
