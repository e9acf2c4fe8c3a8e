"""The contract every registered merge method keeps, run against each one on two tiny models
(mergekit, CPU, seconds): a new method module is tested here without editing this file.

Each merge is built the way a sweep builds it (``merge_config_for_share``: the first model's
share of the result), so the method's own reading of that share is what is tested:

* the output has the inputs' parameter names and shapes, loads, and generates;
* merging a model with an identical copy of itself gives the model back;
* a share of 1 gives the first model back (its partner's weight or ``t`` leaves it untouched).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from objectives import load_model
from objectives.merge import MERGERS, merge_config_for_share, merge_models

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _state(folder: Path) -> dict[str, torch.Tensor]:
    model, _ = load_model(str(folder))
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def _assert_states_close(actual: dict, expected: dict, atol: float) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], atol=atol, rtol=0, msg=name)


@pytest.fixture(scope="module")
def models(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``base`` (the tiny model), ``copy`` (the same weights in another folder), and ``tuned``
    and ``other``: every weight moved by Gaussian noise of std 0.02 (two 'fine-tunes')."""
    root = tmp_path_factory.mktemp("merge-contract")
    folders = {"base": tiny_model_dir, "copy": Path(shutil.copytree(tiny_model_dir, root / "copy"))}
    for name, seed in (("tuned", 7), ("other", 8)):
        model, tokenizer = load_model(str(tiny_model_dir))
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(0.02 * torch.randn(parameter.shape, generator=generator))
        model.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
        folders[name] = root / name
    return folders


def _merge(method: str, first: Path, partner: Path, base: Path, share: float, out: Path) -> Path:
    config = merge_config_for_share(
        method, (first, None), [(partner, None)], share=share, base_model=base, density=1.0
    )
    return merge_models(config, out).out_dir


@pytest.mark.parametrize("method", MERGERS.names())
def test_output_keeps_the_shapes_loads_and_generates(models, tmp_path: Path, method: str) -> None:
    out = _merge(method, models["tuned"], models["base"], models["base"], 0.6, tmp_path / "m")
    merged, expected = _state(out), _state(models["base"])
    assert {k: v.shape for k, v in merged.items()} == {k: v.shape for k, v in expected.items()}
    model, tokenizer = load_model(str(out))
    prompt = tokenizer("Extract the name: Tom from Oslo.", return_tensors="pt")
    with torch.no_grad():
        generated = model.generate(
            **prompt,
            max_new_tokens=4,
            min_new_tokens=4,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    assert generated.shape[1] == prompt["input_ids"].shape[1] + 4


@pytest.mark.parametrize("method", MERGERS.names())
def test_identical_inputs_give_the_input_back(models, tmp_path: Path, method: str) -> None:
    out = _merge(method, models["base"], models["copy"], models["base"], 0.6, tmp_path / "m")
    _assert_states_close(_state(out), _state(models["base"]), atol=1e-6)


@pytest.mark.parametrize("method", MERGERS.names())
def test_a_share_of_one_gives_the_first_model(models, tmp_path: Path, method: str) -> None:
    out = _merge(method, models["tuned"], models["other"], models["base"], 1.0, tmp_path / "m")
    _assert_states_close(_state(out), _state(models["tuned"]), atol=1e-5)
