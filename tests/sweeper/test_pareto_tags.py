"""The per-trial Pareto tags: kept incrementally, always equal to Optuna's ``best_trials``.

``ParetoTagger`` compares each new trial with the current front only (instead of recomputing the
front of the whole study after every trial); this checks it against Optuna's own answer after
every trial of constrained and unconstrained studies, trials added by "other workers" between
updates included. The tracker records tag writes (the MLflow side is covered by the sweep tests).
"""

from __future__ import annotations

import random
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from sweeper.report import study_pareto_ranks
from sweeper.runner import ParetoTagger
from sweeper.trial_record import ATTR_MLFLOW_RUN
from sweeper.upstream import record_constraints


class _Tags:
    def __init__(self) -> None:
        self.tags: dict[str, dict[str, str]] = {}

    def log(self, run_id: str, *, tags: dict[str, str], **_: Any) -> None:
        self.tags.setdefault(run_id, {}).update(tags)


def _add(study: optuna.Study, rng: random.Random, constrained: bool) -> None:
    trial = study.ask()
    trial.set_user_attr(ATTR_MLFLOW_RUN, f"run-{trial.number}")
    values = [rng.choice([0.1, 0.5, 0.9]), rng.random(), rng.choice([1.0, 2.0])]
    if constrained:
        violation = rng.choice([-1.0, 0.0, 0.5])
        record_constraints(lambda _t: (violation,), study, trial, TrialState.COMPLETE)
    if rng.random() < 0.1:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, values)


@pytest.mark.parametrize("constrained", [False, True])
def test_incremental_front_equals_optunas_best_trials(constrained: bool) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(directions=["maximize", "maximize", "minimize"])
    rng = random.Random(7)
    tracker = _Tags()
    tagger = ParetoTagger(tracker)  # type: ignore[arg-type]
    for step in range(120):
        for _ in range(1 + (step % 3 == 0)):  # sometimes a second trial from "another worker"
            _add(study, rng, constrained)
        front = tagger.update(study)
        expected = {t.number for t in study.best_trials}
        assert front == expected, step
        ranks = study_pareto_ranks(study)
        for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
            tags = tracker.tags[f"run-{t.number}"]
            assert tags["pareto"] == str(t.number in expected).lower()
            if t.number in expected:
                assert tags["pareto_rank"] == "0"
            elif "pareto_rank" in tags and tags["pareto_rank"] == "1":
                assert ranks[t.number] >= 1  # a front leaver; deeper ranks settle at the end
