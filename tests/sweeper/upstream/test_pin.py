"""The Optuna range pinned in pyproject.toml is the one the adapter declares, and the installed
Optuna is inside it."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from packaging.requirements import Requirement

from sweeper.upstream import OPTUNA_SUPPORTED

REPO = Path(__file__).resolve().parents[3]


def test_pyproject_pins_the_adapted_optuna_range_and_the_installed_one_is_inside() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == "optuna"]
    assert [str(p.specifier) for p in pins] == [
        str(Requirement(f"optuna{OPTUNA_SUPPORTED}").specifier)
    ]
    assert pins[0].specifier.contains(optuna.__version__), (
        f"Optuna {optuna.__version__} is installed, outside the supported optuna{OPTUNA_SUPPORTED}"
    )
