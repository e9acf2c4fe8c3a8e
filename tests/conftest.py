"""Shared fixtures: offline mode, an isolated cache, a tiny random model and study files."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")


def pytest_collection_modifyitems(config, items):
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from objectives import make_tiny_random_model

    return make_tiny_random_model(tmp_path_factory.mktemp("tiny-model"))


def demo_study_data() -> dict:
    return yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())


def write_study(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def tiny_study(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """The demo study on the tiny random model, small enough for seconds per trial."""
    data = copy.deepcopy(demo_study_data())
    data["name"] = "tiny"
    data["model"]["path"] = str(tiny_model_dir)
    data["training"] = {"steps_per_epoch": 2, "batch_size": 2, "seq_len": 64}
    data["eval"]["limit"] = 4
    data["eval"]["batch_size"] = 4
    data["trials"] = 2
    data["sampler"] = {"name": "random"}
    return write_study(tmp_path / "tiny.yaml", data)
