"""A study whose model folder holds only ``config.json`` is quoted with that model's shape.

Through the real CLI (``sweeper quote``) on studies pointing at the hand-written published
configs in tests/data/configs: no weights, no tokenizer, nothing downloaded.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from sweeper.cli import main
from sweeper.model_config import ModelConfigError, study_model_shape
from tests.conftest import demo_study_data, write_study

CONFIGS = Path(__file__).resolve().parents[2] / "data" / "configs"


class _Model:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)


def _config_only(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(CONFIGS / name / "config.json", folder / "config.json")
    return folder


def _study(tmp_path: Path, model_path: Path, *, preset: str | None = None) -> Path:
    data = copy.deepcopy(demo_study_data())
    data["name"] = "own-model"
    data["model"]["path"] = str(model_path)
    data["projection"] = {"dataset_tokens": 1.0e7, "method": "lora"}
    if preset is not None:
        data["projection"]["model"] = preset
    return write_study(tmp_path / f"study-{preset or 'own'}.yaml", data)


def _quote_json(capsys: pytest.CaptureFixture, study: Path, storage: str) -> dict:
    assert main(["quote", str(study), "--storage", storage, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_config_only_7b_folder_is_quoted_with_its_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = _config_only(tmp_path, "llama-2-7b")
    assert [p.name for p in folder.iterdir()] == ["config.json"]
    storage = f"sqlite:///{tmp_path / 'none.db'}"
    own = _study(tmp_path, folder)

    assert main(["quote", str(own), "--storage", storage]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "6.74B parameters (32 layers, hidden 4096, 32 heads / 32 KV heads of 128" in out
    assert "full-scale projection: the same model" in out

    q = _quote_json(capsys, own, storage)
    assert q["model"]["params"] == pytest.approx(6.74e9, rel=0.001)
    assert q["target"]["params"] == pytest.approx(6.74e9, rel=0.001)
    # The model's own shape as the full-scale model prices exactly as the llama-2-7b preset.
    preset = _quote_json(capsys, _study(tmp_path, folder, preset="llama-2-7b"), storage)
    for p in ("p10", "p50", "p90"):
        own_h = q["per_trial"]["gpu_hours_train_projected"][p]
        assert own_h == pytest.approx(preset["per_trial"]["gpu_hours_train_projected"][p], rel=0.01)
    # Per-trial seconds on this machine follow the 7B's FLOPs: far above the bundled 135M's.
    small = copy.deepcopy(demo_study_data())
    small["projection"] = {"model": "llama-2-7b", "dataset_tokens": 1.0e7}
    bundled = _quote_json(capsys, write_study(tmp_path / "bundled.yaml", small), storage)
    assert bundled["model"]["params"] == pytest.approx(1.345e8, rel=0.01)
    assert (
        q["per_trial"]["trial_seconds"]["p50"] > 10 * bundled["per_trial"]["trial_seconds"]["p50"]
    )


def test_autoconfig_fills_what_a_config_leaves_out(tmp_path: Path) -> None:
    # Gemma's config has no tie_word_embeddings: its class default (tied) applies, 8.54B.
    gemma = study_model_shape(_Model(_config_only(tmp_path, "gemma-7b")))
    assert gemma.tied_embeddings and gemma.head_dim == 256
    assert gemma.params == pytest.approx(8.54e9, rel=0.001)
    # A model_type transformers does not know is read as plain JSON with the same keys.
    folder = tmp_path / "new-family"
    folder.mkdir()
    cfg = json.loads((CONFIGS / "mistral-7b" / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "model_type": "not-a-known-family"}))
    assert study_model_shape(_Model(folder)).params == pytest.approx(7.24e9, rel=0.001)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"model_type": "llama", "hidden_size": 4096,', "not a valid JSON config"),
        ('{"model_type": "mistral", "num_hidden_layers": "many"}', "num_hidden_layers"),
        ("[1, 2]", "must hold a JSON object"),
        (None, "no config.json"),
    ],
)
def test_a_malformed_config_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, content: str | None, says: str
) -> None:
    folder = tmp_path / "broken-model"
    folder.mkdir()
    if content is not None:
        (folder / "config.json").write_text(content)
    study = _study(tmp_path, folder)
    assert main(["quote", str(study), "--storage", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert says in lines[0] and "model.path" in lines[0] and str(folder) in lines[0]
    assert "Traceback" not in captured.err + captured.out
    with pytest.raises(ModelConfigError):
        study_model_shape(_Model(folder))
