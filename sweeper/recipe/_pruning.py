"""Stopping bad trials early: a cheap evaluation during LoRA training, and a median rule.

Optuna's pruners are single-objective: ``Trial.report`` raises for multi-objective studies and
``MedianPruner`` reads ``study.direction``. Our studies are multi-objective, so one objective
drives pruning -- the study's ``pruning.metric`` (default: the first eval-metric objective) -- and
the rule is Optuna's median rule applied to that metric: at a checkpoint, a trial whose
intermediate value is worse than the median of the values that earlier finished trials reported
at the same checkpoint is stopped. Intermediate values are kept in each trial's user attributes
(``intermediate``), so every worker sharing the storage sees them.

The intermediate evaluation scores the model being trained where it is (on the trial's GPU when
there is one): nothing is moved to the CPU and back mid-training.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from sweeper.trial_record import ATTR_INTERMEDIATE


@dataclass(frozen=True)
class MedianRule:
    """Optuna's MedianPruner semantics over one metric of a multi-objective study."""

    metric: str
    maximize: bool
    n_startup_trials: int = 2
    n_warmup_steps: int = 0

    def should_prune(self, study: optuna.Study, number: int, step: int, value: float) -> bool:
        if step <= self.n_warmup_steps:
            return False
        finished = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.number != number
            and t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        ]
        reported = [
            t.user_attrs.get(ATTR_INTERMEDIATE, {}).get(str(step))
            for t in finished
            if t.state == optuna.trial.TrialState.COMPLETE
        ]
        reported = [float(v) for v in reported if v is not None]
        if len(reported) < max(self.n_startup_trials, 1):
            return False
        median = statistics.median(reported)
        return value < median if self.maximize else value > median


def intermediate_eval_callback(
    trial: optuna.Trial,
    rule: MedianRule,
    *,
    task: Any,
    every_steps: int,
    limit: int,
    batch_size: int,
) -> Callable[[Any], list[Any]]:
    """A factory of transformers ``TrainerCallback``s (given the tokenizer) that evaluate ``task``
    (an ``objectives.eval_tasks.EvalTask`` or a bundled task's name) on ``limit`` items every
    ``every_steps`` optimizer steps, record the value on the trial and raise
    ``optuna.TrialPruned`` when ``rule`` says so."""
    from transformers import TrainerCallback

    from objectives.eval_tasks import EvalTask, bundled_task

    check = (task if isinstance(task, EvalTask) else bundled_task(task)).with_limit(limit)

    class IntermediateEval(TrainerCallback):
        def __init__(self, tokenizer: Any) -> None:
            self.tokenizer = tokenizer
            self.values: dict[str, float] = {}

        def on_step_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
            step = int(state.global_step)
            if model is None or step % every_steps or step >= int(state.max_steps):
                return
            from objectives import evaluate

            # device=None: evaluated on the device it trains on, never moved
            scores = evaluate(model, self.tokenizer, [check], batch_size=batch_size, device=None)
            model.train()
            value = float(scores[check.key].value)
            self.values[str(step)] = value
            trial.set_user_attr(ATTR_INTERMEDIATE, dict(self.values))
            if rule.should_prune(trial.study, trial.number, step, value):
                raise optuna.TrialPruned(
                    f"pruned at step {step}/{state.max_steps}: {rule.metric}={value:.3f} on "
                    f"{limit} items is below the median of earlier trials at this step"
                )

    return lambda tokenizer: [IntermediateEval(tokenizer)]
