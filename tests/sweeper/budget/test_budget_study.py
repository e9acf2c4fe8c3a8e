"""`budget_eur` in the study file, the quote's budget line, and `sweeper run`'s quote refusal."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml

from sweeper.budget import BudgetLedger
from sweeper.cli import main
from sweeper.errors import StudyFileError
from sweeper.study import load_study
from tests.conftest import write_study

REPO = Path(__file__).resolve().parents[3]
SHIPPED_STUDIES = sorted((REPO / "studies").glob("*.yaml"))


def with_budget(study: Path, budget_eur: object, **changes: object) -> Path:
    data = yaml.safe_load(study.read_text())
    data["budget_eur"] = budget_eur
    data.update(changes)
    return write_study(study, data)


@pytest.mark.parametrize(
    ("value", "valid_text"),
    [
        (0, "greater than 0"),
        (-5.0, "greater than 0"),
        ("lots", "valid number"),
        (".nan", "finite number"),
    ],
)
def test_a_bad_budget_is_one_line_naming_file_field_and_value(
    tmp_path: Path, value: object, valid_text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())
    path = tmp_path / "study.yaml"
    raw = yaml.safe_dump(data) + f"budget_eur: {value}\n"
    path.write_text(raw)
    with pytest.raises(StudyFileError) as info:
        load_study(path)
    message = str(info.value)
    assert str(path) in message and "field 'budget_eur'" in message and valid_text in message
    assert main(["quote", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "budget_eur" in err


def test_a_budget_is_optional_and_kept_in_euros(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "studies" / "demo.yaml").read_text())
    data.pop("budget_eur", None)
    assert load_study(write_study(tmp_path / "a.yaml", data)).spec.budget_eur is None
    data["budget_eur"] = 12.5
    assert load_study(write_study(tmp_path / "b.yaml", data)).spec.budget_eur == 12.5


@pytest.mark.parametrize("study_file", SHIPPED_STUDIES, ids=lambda p: p.name)
def test_every_shipped_study_quotes_p50_at_most_p90(
    study_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{tmp_path / 'absent.db'}"
    assert main(["quote", str(study_file), "--storage", storage, "--json"]) == 0
    q = json.loads(capsys.readouterr().out)
    for name, spread in q["per_trial"].items():
        assert spread["p10"] <= spread["p50"] <= spread["p90"], name
    assert 0 < q["study_total"]["cost_eur_p50"] <= q["study_total"]["cost_eur_p90"]
    assert 0 < q["study_total"]["hours_p50"] <= q["study_total"]["hours_p90"]
    assert not (tmp_path / "absent.db").exists()  # a quote creates no storage


def test_an_impossibly_small_budget_is_refused_with_the_numbers_and_force_runs(
    tiny_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = with_budget(tiny_study, 0.001, hardware=_priced_hardware(tiny_study, 36.0))
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"

    assert main(["quote", str(study), "--storage", storage, "--json"]) == 0
    q = json.loads(capsys.readouterr().out)
    budget = q["budget"]
    assert (budget["budget_eur"], budget["spent_eur"], budget["remaining_eur"]) == (0.001, 0, 0.001)
    assert budget["fits"] is False
    assert budget["over_by_eur"] == pytest.approx(q["study_total"]["cost_eur_p50"] - 0.001)
    assert main(["quote", str(study), "--storage", storage]) == 0
    assert "the P50 quote does not fit: over by" in unwrapped(capsys.readouterr().out)

    assert main(["run", str(study), "--storage", storage, "--no-mlflow"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    p50 = q["study_total"]["cost_eur_p50"]
    assert err.startswith("error: the quote for 2 trial(s) of study 'tiny'")
    assert f"P50 €{p50:.4f} exceeds the remaining €0.0010 by €{p50 - 0.001:.4f}" in err
    assert "--force" in err
    assert not (tmp_path / "sweeper.db").exists()  # refused before anything was created
    # A worker joining the study refuses the same way (the trials it would still run).
    assert main(["worker", str(study), "--storage", storage, "--no-mlflow"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the quote for 2 trial(s) of study 'tiny'") and "--force" in err
    assert not (tmp_path / "sweeper.db").exists()

    # --force starts the run; the ledger then refuses the base-model evaluation and the first
    # trial (each estimate is above €0.001): nothing is spent, and the refusal is recorded.
    assert main(["run", str(study), "--storage", storage, "--no-mlflow", "--force"]) == 0
    assert "base-model evaluation does not fit" in unwrapped(capsys.readouterr().out)
    trials = optuna.load_study(study_name="tiny", storage=storage).trials
    assert [t.state.name for t in trials] == ["PRUNED"]
    assert trials[0].user_attrs["fail_reason"].startswith("budget exhausted: trial 0 would reserve")
    assert trials[0].user_attrs["metrics"] == {"cost_eur_trial": 0.0}
    with BudgetLedger(storage, "tiny") as ledger:
        assert ledger.entries() == []
        assert ledger.summary().remaining_eur == 0.001


def unwrapped(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def _priced_hardware(study: Path, eur_per_hour: float) -> dict:
    """The study's hardware with trials priced at ``eur_per_hour`` (big enough to count cents)."""
    hardware = yaml.safe_load(study.read_text())["hardware"]
    hardware["trial"] = {"name": "test-cpu", "eur_per_hour": eur_per_hour}
    return hardware
