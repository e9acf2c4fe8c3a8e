"""The budget's integrity: a trial over its spending limit is stopped and charged what it spent, a
stored budget changes only on request, and a worker started before a budget was declared honours
it. Real ledger (SQLite), real study storage, real LoRA training on the tiny model."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
import yaml
from transformers import TrainerCallback

from objectives import LoraTrainConfig, load_model, resolve_model_path, train_lora
from objectives.task_data import read_examples_file
from sweeper.budget import (
    BUDGET_EXHAUSTED,
    BudgetChangeError,
    BudgetGuard,
    BudgetLedger,
    ReservationEstimates,
    SpendingLimit,
    TrialOverrunError,
    check_spending,
    spending_limit,
)
from sweeper.cli import main
from sweeper.costing import PricingContext
from sweeper.quote import reservation_estimates
from sweeper.recipe import RecipeObjective, WorkCache
from sweeper.recipe._pipeline import _spending_limit_callback
from sweeper.storage import GRACE_PERIOD_S, open_storage, open_study
from sweeper.study import LoadedStudy, load_study
from tests.conftest import write_study

EUR_PER_HOUR = 36.0  # a cent a second
#: What the runner gives the guard (``sweeper.runner._prepare_trials``).
RUNNER_INJECTS = {"estimate": reservation_estimates, "stale_grace_s": GRACE_PERIOD_S}


def study_file(tiny_study: Path, **changes: object) -> Path:
    data = yaml.safe_load(tiny_study.read_text())
    data["hardware"]["trial"] = {"name": "test-cpu", "eur_per_hour": EUR_PER_HOUR}
    data.update(changes)
    if data.get("budget_eur") is None:
        data.pop("budget_eur", None)
    return write_study(tiny_study, data)


def opened(loaded: LoadedStudy, storage: str) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return open_study(loaded, open_storage(storage))


def test_a_spending_limit_is_its_factor_times_the_reservation() -> None:
    fresh = SpendingLimit(3, reserved_eur=1000.0, factor=2.0, eur_per_hour=EUR_PER_HOUR)
    fresh.check()
    # Started 3 s ago at a cent a second: 0.03 EUR spent, over 2 x 0.01.
    late = SpendingLimit(3, 0.01, 2.0, EUR_PER_HOUR, started=time.perf_counter() - 3.0)
    expected = r"budget overrun: trial 3 spent €0\.03\d*, more than 2 x its reservation €0\.0100"
    with pytest.raises(TrialOverrunError, match=expected):
        late.check()
    check_spending()  # outside a budgeted trial: nothing to check
    with spending_limit(late), pytest.raises(TrialOverrunError):
        check_spending()
    check_spending()  # the limit ended with its block


@pytest.mark.parametrize("factor", [0.5, 0, -1, ".nan", ".inf", "'two'"])
def test_a_bad_overrun_factor_is_refused_when_the_study_loads(
    tiny_study: Path, factor: object, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tiny_study.read_text() + f"budget_overrun_factor: {factor}\n"
    tiny_study.write_text(text)
    assert main(["quote", str(tiny_study)]) == 2
    err = capsys.readouterr().err
    assert "budget_overrun_factor" in err and str(tiny_study) in err
    assert err.count("\n") == 1 and "Traceback" not in err


class StepCounter(TrainerCallback):
    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_step_end(self, args, state, control, **kwargs) -> None:  # noqa: ANN001
        self.steps.append(state.global_step)


def test_training_stops_at_the_first_step_past_the_limit(tiny_study: Path) -> None:
    loaded = load_study(tiny_study)
    model, tokenizer = load_model(resolve_model_path(loaded.spec.model.path))
    counter = StepCounter()
    limit = SpendingLimit(0, reserved_eur=1e-9, factor=2.0, eur_per_hour=EUR_PER_HOUR)
    with spending_limit(limit), pytest.raises(TrialOverrunError):
        train_lora(
            model,
            tokenizer,
            LoraTrainConfig(r=4, alpha=8, max_steps=40, batch_size=2, seq_len=64),
            examples=read_examples_file(loaded.train_file),
            trainer_callbacks=(counter, _spending_limit_callback()),
        )
    assert counter.steps == [1]  # not the 40 it was configured for


def test_a_trial_over_its_limit_fails_and_is_charged_what_it_spent(
    tiny_study: Path, tmp_path: Path
) -> None:
    loaded = load_study(study_file(tiny_study, budget_eur=5.0))
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    study = opened(loaded, storage)
    ledger = BudgetLedger(storage, loaded.name)
    ledger.set_budget(5.0)
    reserved_eur = 1e-6  # far below what any trial costs: its first check stops it

    def calibrated_estimate(_loaded: LoadedStudy, _study: optuna.Study) -> ReservationEstimates:
        return ReservationEstimates(reserved_eur, 0.1, reserved_eur, "calibrated from a test", True)

    guard = BudgetGuard(
        loaded,
        ledger,
        eur_per_hour=EUR_PER_HOUR,
        estimate=calibrated_estimate,
        stale_grace_s=GRACE_PERIOD_S,
    )
    cache = WorkCache(tmp_path / "cache")
    objective = RecipeObjective(
        loaded,
        PricingContext.load(),
        None,
        None,
        resolve_model_path(loaded.spec.model.path),
        cache,
    )
    study.optimize(guard.wrap(objective), n_trials=1, catch=(Exception,))

    (trial,) = study.trials
    assert trial.state.name == "FAIL"
    print(trial.user_attrs["fail_reason"])
    assert trial.user_attrs["fail_reason"].startswith(
        "TrialOverrunError: budget overrun: trial 0 spent €"
    )
    (entry,) = ledger.entries()
    charged_eur = trial.user_attrs["metrics"]["cost_eur_trial"]
    assert entry.key == "trial-0" and entry.state == "settled"
    assert entry.actual_eur == pytest.approx(charged_eur, abs=1e-6)
    assert entry.actual_eur > 2 * reserved_eur
    assert not list((cache.root / "lora").glob("*/meta.json"))  # stopped before training


def test_a_different_budget_in_the_study_file_changes_nothing_without_the_flag(
    tiny_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    first = load_study(study_file(tiny_study, budget_eur=5.0))
    study = opened(first, storage)
    BudgetGuard.open(first, study, storage, eur_per_hour=EUR_PER_HOUR, **RUNNER_INJECTS)

    other = load_study(study_file(tiny_study, budget_eur=1.0))  # another worker's copy
    with pytest.raises(BudgetChangeError, match=r"is 1, but study 'tiny' .* budget €5;"):
        BudgetGuard.open(other, study, storage, eur_per_hour=EUR_PER_HOUR, **RUNNER_INJECTS)
    with BudgetLedger(storage, "tiny") as ledger:
        assert ledger.summary().budget_eur == 5.0

    # The CLI: one line, exit 2, before any trial.
    argv = ["run", str(tiny_study), "--storage", storage, "--no-mlflow", "--force"]
    assert main([*argv, "--no-baseline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--update-budget" in err and "Traceback" not in err
    assert study.trials == []

    statuses: list[str] = []
    BudgetGuard.open(
        other,
        study,
        storage,
        eur_per_hour=EUR_PER_HOUR,
        **RUNNER_INJECTS,
        on_status=statuses.append,
        update_budget=True,
    )
    with BudgetLedger(storage, "tiny") as ledger:
        assert ledger.summary().budget_eur == 1.0
    assert "changed from €5.0000 to €1.0000" in statuses[0]


def test_a_worker_started_before_a_budget_was_declared_honours_it(
    tiny_study: Path, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    loaded = load_study(study_file(tiny_study, budget_eur=None))
    study = opened(loaded, storage)
    guard = BudgetGuard.open(loaded, study, storage, eur_per_hour=EUR_PER_HOUR, **RUNNER_INJECTS)
    ran: list[int] = []

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        ran.append(trial.number)
        trial.set_user_attr("metrics", {"cost_eur_trial": 0.5})
        return 0.5, 0.1

    budgeted = guard.wrap(objective)
    study.optimize(budgeted, n_trials=1)  # no budget anywhere yet: the trial runs
    with BudgetLedger(storage, "tiny", worker_id="other-worker") as other:
        other.set_budget(0.000001)  # declared by a worker started later
    study.optimize(budgeted, n_trials=1, catch=(Exception,))

    assert ran == [0]
    refused = study.trials[1]
    assert refused.state.name == "PRUNED"
    assert refused.user_attrs["fail_reason"].startswith(f"{BUDGET_EXHAUSTED}: trial 1 ")
