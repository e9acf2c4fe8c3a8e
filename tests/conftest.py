"""Shared fixtures: offline mode, an isolated cache, a tiny random model and study files."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from tests.servers import (
    REQUIRE_SERVERS_ENV,
    MlflowServer,
    PostgresServer,
    S3Server,
    ServerUnavailable,
    mlflow_server,
    postgres_server,
    s3_server,
    servers_required,
)

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


@pytest.fixture(autouse=True)
def _isolated_work_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own trial-work cache (adapters, evaluations): no hits across tests,
    and nothing written into the checkout. Subprocesses inherit it through the environment."""
    folder = tmp_path / "work-cache"
    monkeypatch.setenv("SWEEPER_WORK_CACHE", str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from objectives import make_tiny_random_model

    return make_tiny_random_model(tmp_path_factory.mktemp("tiny-model"))


def demo_study_data() -> dict:
    """The demo study reduced to a LoRA-only search with two objectives (quality vs projected
    training euros): the shape most runner, budget and worker tests exercise. The recipe parts
    (merge, quantization, serving, constraints) have their own tests in
    tests/sweeper/recipe/test_recipe_*."""
    data = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())
    for key in ("merge", "serving", "constraints", "pruning"):
        data.pop(key, None)
    data["eval"] = {
        "tasks": {"quality": "sweeper_json_extract", "retention": "sweeper_general"},
        "batch_size": 32,
    }
    data["search_space"] = {
        "lora_r": {"choices": [4, 8, 16, 32]},
        "lora_alpha_ratio": {"choices": [0.5, 1, 2, 4]},
        "learning_rate": {"low": 2.0e-4, "high": 3.0e-3, "log": True},
        "target_modules": {"choices": ["q_v", "attention", "all_linear"]},
        "epochs": {"choices": [1, 2, 3]},
    }
    data["objectives"] = [
        {"name": "quality", "direction": "maximize"},
        {"name": "cost_eur_train_projected", "direction": "minimize"},
    ]
    data["trials"] = 6
    data["sampler"] = {"name": "tpe", "n_startup_trials": 4}
    return data


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


# --- real servers: PostgreSQL, MLflow tracking server, S3 ---------------------------------


def _skip_or_fail(exc: ServerUnavailable) -> None:
    if servers_required():
        pytest.fail(
            f"{exc} ({REQUIRE_SERVERS_ENV} is set, so this fails instead of skipping)",
            pytrace=False,
        )
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run (about a second to start)."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except ServerUnavailable as exc:
            _skip_or_fail(exc)
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server (``postgresql+psycopg2://...``),
    dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)


@pytest.fixture(scope="session")
def _mlflow_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    home: Path = tmp_path_factory.mktemp("mlflow-server")
    with mlflow_server(f"sqlite:///{home / 'mlflow.db'}", home / "artifacts") as server:
        yield server


@pytest.fixture
def mlflow_tracking_server(_mlflow_server_session: MlflowServer) -> MlflowServer:
    """The session's MLflow server (``.url``, ``.stop()``, ``.start()``, ``.restart()``), running
    when the test starts even if an earlier test stopped it."""
    _mlflow_server_session.start()
    return _mlflow_server_session


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One S3 server (moto, in memory) for the run: ``.endpoint_url``, ``.env``,
    ``.create_bucket(name)``."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(s3_server(tmp_path_factory.mktemp("s3-server")))
        except ServerUnavailable as exc:
            _skip_or_fail(exc)
        yield server
