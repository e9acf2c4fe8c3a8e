"""Pruning: a cheap intermediate evaluation during LoRA training, and the median rule over it."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest

from sweeper.cli import main
from sweeper.recipe._pruning import MedianRule
from sweeper.trial_record import ATTR_INTERMEDIATE
from tests.conftest import demo_study_data, write_study


def _study_with(values: list[float | None], state=optuna.trial.TrialState.COMPLETE):
    study = optuna.create_study(directions=["maximize", "minimize"])
    for v in values:
        attrs = {} if v is None else {ATTR_INTERMEDIATE: {"5": v}}
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                values=[0.5, 1.0] if state == optuna.trial.TrialState.COMPLETE else None,
                user_attrs=attrs,
            )
        )
    return study


def test_median_rule_prunes_below_the_median_of_finished_trials() -> None:
    rule = MedianRule("quality", maximize=True, n_startup_trials=2)
    study = _study_with([0.2, 0.6, 0.8])
    assert rule.should_prune(study, number=99, step=5, value=0.5)
    assert not rule.should_prune(study, number=99, step=5, value=0.7)
    assert not rule.should_prune(study, number=99, step=10, value=0.0)  # nobody reported step 10


def test_median_rule_waits_for_startup_trials_and_warmup() -> None:
    study = _study_with([0.9])
    assert not MedianRule("quality", True, n_startup_trials=2).should_prune(study, 99, 5, 0.1)
    assert MedianRule("quality", True, n_startup_trials=1).should_prune(study, 99, 5, 0.1)
    assert not MedianRule("quality", True, 1, n_warmup_steps=5).should_prune(study, 99, 5, 0.1)


def test_median_rule_minimizing_and_ignores_pruned_trials() -> None:
    study = _study_with([0.2, 0.3])
    pruned = _study_with([0.0, 0.0], state=optuna.trial.TrialState.PRUNED)
    for t in pruned.trials:
        study.add_trial(t)
    rule = MedianRule("loss", maximize=False, n_startup_trials=2)
    assert rule.should_prune(study, 99, 5, 0.4)
    assert not rule.should_prune(study, 99, 5, 0.1)


@pytest.fixture
def pruning_study(tmp_path: Path, tiny_model_dir: Path) -> Path:
    data = copy.deepcopy(demo_study_data())
    data["name"] = "tiny-prune"
    data["model"]["path"] = str(tiny_model_dir)
    data["training"] = {"steps_per_epoch": 4, "batch_size": 2, "seq_len": 64}
    data["eval"]["limit"] = 4
    data["eval"]["batch_size"] = 4
    data["search_space"]["epochs"] = {"value": 1}
    data["trials"] = 1
    data["sampler"] = {"name": "random"}
    data["pruning"] = {"every_steps": 2, "limit": 2, "n_startup_trials": 1}
    return write_study(tmp_path / "prune.yaml", data)


def test_trial_below_the_median_is_pruned_and_charged(pruning_study: Path, tmp_path: Path):
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    args = ["run", str(pruning_study), "--storage", storage, "--no-mlflow", "--no-baseline"]
    # An earlier trial that scored perfectly at step 2: the random tiny model cannot match it.
    optuna.create_study(
        study_name="tiny-prune", storage=storage, directions=["maximize", "minimize"]
    ).add_trial(
        optuna.trial.create_trial(
            values=[1.0, 1.0], user_attrs={ATTR_INTERMEDIATE: {"2": 1.0}, "metrics": {}}
        )
    )
    assert main(args) == 0
    trial = optuna.load_study(study_name="tiny-prune", storage=storage).trials[-1]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert "pruned at step 2/4" in trial.user_attrs["fail_reason"]
    assert set(trial.user_attrs[ATTR_INTERMEDIATE]) == {"2"}
    assert trial.user_attrs["metrics"]["cost_eur_trial"] > 0  # charged what it spent


def test_trial_reports_intermediate_values_when_not_pruned(pruning_study: Path, tmp_path: Path):
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    args = ["run", str(pruning_study), "--storage", storage, "--no-mlflow", "--no-baseline"]
    assert main(args) == 0  # the first trial has nobody to compare with
    trial = optuna.load_study(study_name="tiny-prune", storage=storage).trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert set(trial.user_attrs[ATTR_INTERMEDIATE]) == {"2"}  # not at the last step (final eval)


def test_pruning_metric_must_be_an_eval_metric(tmp_path: Path) -> None:
    from sweeper.errors import StudyFileError
    from sweeper.study import load_study

    data = copy.deepcopy(demo_study_data())
    data["pruning"] = {"metric": "cost_eur_trial"}
    path = write_study(tmp_path / "bad.yaml", data)
    with pytest.raises(StudyFileError) as info:
        load_study(path)
    assert info.value.field == "pruning.metric" and "quality" in str(info.value)
