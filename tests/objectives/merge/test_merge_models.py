"""Merging with mergekit on the tiny random model (seconds, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from objectives import LoraTrainConfig, load_model, train_lora
from objectives.merge import (
    MERGE_METHODS,
    MergeConfig,
    MergeConfigError,
    MergeError,
    MergeSource,
    merge_models,
)


def _state(folder: Path) -> dict[str, torch.Tensor]:
    model, _ = load_model(str(folder))
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


@pytest.fixture(scope="module")
def perturbed_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with every weight moved by Gaussian noise (std 0.02): a second 'fine-tune'."""
    model, tokenizer = load_model(str(tiny_model_dir))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.02 * torch.randn(parameter.shape, generator=generator))
    out = tmp_path_factory.mktemp("perturbed")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter trained for 3 steps on the tiny model (as the recipe pipeline
    would save it), with a large learning rate so that it visibly moves the weights."""
    model, tokenizer = load_model(str(tiny_model_dir))
    config = LoraTrainConfig(max_steps=3, batch_size=2, seq_len=96, r=4, learning_rate=3e-2)
    peft_model, _ = train_lora(model, tokenizer, config)
    out = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def states(tiny_model_dir: Path, perturbed_dir: Path) -> tuple[dict, dict]:
    return _state(tiny_model_dir), _state(perturbed_dir)


def _assert_states_close(actual: dict, expected: dict, atol: float = 1e-6) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], atol=atol, rtol=0, msg=name)


@pytest.mark.parametrize("weights", [(1.0, 0.0), (0.5, 0.5), (0.8, 0.2)])
def test_linear_merge_is_the_weighted_average(
    tmp_path: Path, tiny_model_dir: Path, perturbed_dir: Path, states, weights
) -> None:
    a, b = states
    config = MergeConfig(
        method="linear",
        models=[
            MergeSource(tiny_model_dir, weight=weights[0]),
            MergeSource(perturbed_dir, weight=weights[1]),
        ],
    )
    result = merge_models(config, tmp_path / "merged")
    expected = {name: weights[0] * a[name] + weights[1] * b[name] for name in a}
    _assert_states_close(_state(result.out_dir), expected)
    assert result.seconds > 0 and result.peak_memory_bytes > 0
    assert result.size_bytes == (result.out_dir / "model.safetensors").stat().st_size
    assert (result.out_dir / "mergekit_config.yml").is_file()


def test_an_adapter_source_is_its_base_with_the_lora_merged_in(
    tmp_path: Path, tiny_model_dir: Path, perturbed_dir: Path, adapter_dir: Path
) -> None:
    from peft import PeftModel

    base, _ = load_model(str(tiny_model_dir))
    expected = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload().state_dict()
    config = MergeConfig(
        method="linear",
        models=[
            MergeSource(tiny_model_dir, adapter=adapter_dir, weight=1),
            MergeSource(perturbed_dir, weight=0),
        ],
    )
    merged = _state(merge_models(config, tmp_path / "merged").out_dir)
    _assert_states_close(merged, {name: t.detach() for name, t in expected.items()})
    assert not torch.equal(
        merged["model.layers.0.self_attn.q_proj.weight"],
        _state(tiny_model_dir)["model.layers.0.self_attn.q_proj.weight"],
    )


def test_a_merge_leaves_nothing_mapped_and_the_same_adapter_merges_again(
    tmp_path: Path, tiny_model_dir: Path, perturbed_dir: Path, adapter_dir: Path
) -> None:
    # mergekit keeps a loader per model reference for the life of the process, each with its
    # safetensors file memory-mapped -- for an adapter source, base+LoRA written to a temporary
    # folder that is deleted after the merge. merge_models drops them: in a sweep, every merged
    # LoRA otherwise stayed mapped (and its deleted file on disk) until the process ended.
    from mergekit.io.tasks import LoaderCache

    config = MergeConfig(
        method="linear",
        models=[
            MergeSource(tiny_model_dir, adapter=adapter_dir, weight=0.6),
            MergeSource(perturbed_dir, weight=0.4),
        ],
    )
    first = _state(merge_models(config, tmp_path / "first").out_dir)
    assert LoaderCache().loaders == {}
    maps = Path("/proc/self/maps")
    if maps.exists():
        mapped = maps.read_text()
        assert "sweeper-lora-merge-" not in mapped
        assert str(perturbed_dir) not in mapped
    # The same model reference again (a later trial merging the same partner) reads afresh.
    again = _state(merge_models(config, tmp_path / "again").out_dir)
    _assert_states_close(again, first, atol=0)


def test_slerp_endpoints_are_the_two_models(
    tmp_path: Path, tiny_model_dir: Path, perturbed_dir: Path, states
) -> None:
    a, b = states
    for t, expected in ((0.0, a), (1.0, b)):
        config = MergeConfig(
            method="slerp", models=[MergeSource(tiny_model_dir), MergeSource(perturbed_dir)], t=t
        )
        result = merge_models(config, tmp_path / f"t{t}")
        _assert_states_close(_state(result.out_dir), expected, atol=1e-5)
    middle = merge_models(
        MergeConfig(
            method="slerp", models=[MergeSource(tiny_model_dir), MergeSource(perturbed_dir)]
        ),
        tmp_path / "middle",
    )
    merged = _state(middle.out_dir)["model.layers.0.mlp.up_proj.weight"]
    ends = a["model.layers.0.mlp.up_proj.weight"], b["model.layers.0.mlp.up_proj.weight"]
    assert 0 < (merged - ends[0]).norm() < (ends[1] - ends[0]).norm()


@pytest.mark.parametrize("method", ["ties", "dare_ties", "dare_linear"])
def test_task_vector_merges_of_an_adapter_and_a_model_load_and_move_the_base(
    tmp_path: Path, tiny_model_dir: Path, perturbed_dir: Path, adapter_dir: Path, states, method
) -> None:
    base, _ = states
    config = MergeConfig(
        method=method,
        base_model=tiny_model_dir,
        models=[
            MergeSource(tiny_model_dir, adapter=adapter_dir, weight=0.7, density=0.5),
            MergeSource(perturbed_dir, weight=0.3, density=0.5),
        ],
        seed=3,
    )
    result = merge_models(config, tmp_path / "merged")
    model, tokenizer = load_model(str(result.out_dir))  # tokenizer and chat template came along
    assert tokenizer.chat_template
    merged = {name: tensor.detach() for name, tensor in model.state_dict().items()}
    assert merged.keys() == base.keys()
    moved = [name for name in base if not torch.equal(merged[name], base[name])]
    assert "model.layers.0.self_attn.q_proj.weight" in moved  # the adapter's layer
    assert "model.layers.0.mlp.up_proj.weight" in moved  # only the perturbed model moved it
    if method != "ties":  # DARE drops at random: the seed makes it repeatable
        again = merge_models(config, tmp_path / "again")
        _assert_states_close(_state(again.out_dir), merged, atol=0)


def test_to_mergekit_yaml_names_adapters_weights_and_densities() -> None:
    config = MergeConfig(
        method="ties",
        base_model="/m/base",
        models=[
            MergeSource("/m/base", adapter="/a/json", weight=0.8, density=0.5),
            MergeSource("/m/ft", weight=0.2),
        ],
        dtype="bfloat16",
    )
    assert config.to_mergekit_yaml() == {
        "merge_method": "ties",
        "models": [
            {"model": "/m/base+/a/json", "parameters": {"weight": 0.8, "density": 0.5}},
            {"model": "/m/ft", "parameters": {"weight": 0.2}},
        ],
        "base_model": "/m/base",
        "dtype": "bfloat16",
    }
    slerp = MergeConfig(method="slerp", models=[MergeSource("/m/a"), MergeSource("/m/b")], t=0.25)
    assert slerp.to_mergekit_yaml() == {
        "merge_method": "slerp",
        "models": [{"model": "/m/a"}, {"model": "/m/b"}],
        "base_model": "/m/a",
        "parameters": {"t": 0.25},
        "dtype": "float32",
    }


TWO = [MergeSource("/m/a"), MergeSource("/m/b")]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: MergeConfig(method="task_soup", models=TWO),
            "Unknown merge method 'task_soup'. "
            "Available: linear, slerp, ties, dare_ties, dare_linear",
        ),
        (
            lambda: MergeConfig(method="slerp", models=[*TWO, MergeSource("/m/c")]),
            "slerp merges exactly 2 models, but got 3",
        ),
        (
            lambda: MergeConfig(method="linear", models=TWO[:1]),
            "linear merges at least 2 models, but got 1",
        ),
        (
            lambda: MergeSource("/m/a", weight=-0.5),
            r"`weight` must be finite and >= 0, but got weight=-0.5",
        ),
        (lambda: MergeSource("/m/a", weight=float("nan")), "`weight` must be finite and >= 0"),
        (
            lambda: MergeConfig(
                method="linear",
                models=[MergeSource("/m/a", weight=0), MergeSource("/m/b", weight=0)],
            ),
            r"must not all be 0, but got \[0, 0\]",
        ),
        (
            lambda: MergeSource("/m/a", density=0.0),
            r"`density` must be in \(0, 1\], but got density=0.0",
        ),
        (
            lambda: MergeSource("/m/a", density=1.5),
            r"`density` must be in \(0, 1\], but got density=1.5",
        ),
        (
            lambda: MergeConfig(method="linear", models=[MergeSource("/m/a", density=0.5), TWO[1]]),
            "`density` applies only to ties, dare_ties, dare_linear",
        ),
        (
            lambda: MergeConfig(method="ties", models=TWO),
            "ties merges task vectors relative to a base: `base_model` is required",
        ),
        (
            lambda: MergeConfig(method="linear", models=TWO, base_model="/m/a"),
            "`base_model` applies only to ties",
        ),
        (
            lambda: MergeConfig(method="slerp", models=TWO, t=1.5),
            r"`t` must be in \[0, 1\], but got t=1.5",
        ),
        (lambda: MergeConfig(method="linear", models=TWO, t=0.5), "`t` applies only to slerp"),
        (
            lambda: MergeConfig(method="linear", models=TWO, dtype="int8"),
            "`dtype` must be one of float32, bfloat16, float16",
        ),
    ],
)
def test_config_errors_state_the_rule_and_the_values(make, message: str) -> None:
    with pytest.raises(MergeConfigError, match=message):
        make()


def test_every_method_is_listed() -> None:
    assert MERGE_METHODS == ("linear", "slerp", "ties", "dare_ties", "dare_linear")


def test_missing_folders_are_named_before_mergekit_runs(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    missing = tmp_path / "no-such-model"
    config = MergeConfig(
        method="linear", models=[MergeSource(tiny_model_dir), MergeSource(missing)]
    )
    with pytest.raises(MergeError, match=f"model folder with config.json, but got '{missing}'"):
        merge_models(config, tmp_path / "out")
    config = MergeConfig(
        method="linear",
        models=[MergeSource(tiny_model_dir, adapter=tmp_path), MergeSource(tiny_model_dir)],
    )
    with pytest.raises(MergeError, match="adapter_config.json"):
        merge_models(config, tmp_path / "out")
    assert not (tmp_path / "out").exists()
