"""Synthetic studies for the report tests (see tests/sweeper/report/synthetic.py)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from tests.sweeper.report.synthetic import DEMO, synthetic_study


@pytest.fixture(autouse=True)
def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def synth_study_file(tmp_path: Path) -> Path:
    """The demo study file renamed ``synth``, so the CLI finds the synthetic study by name."""
    path = tmp_path / "synth.yaml"
    path.write_text(DEMO.read_text().replace("\nname: demo\n", "\nname: synth\n"))
    return path


@pytest.fixture
def synth_storage(tmp_path: Path) -> str:
    """SQLite storage with a finished 60-trial ``synth`` study priced for a 10B-token fine-tune."""
    url = f"sqlite:///{tmp_path / 'sweeper.db'}"
    synthetic_study(60, storage=url, name="synth", dataset_tokens=1.0e10)
    return url
