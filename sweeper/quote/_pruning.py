"""Pruning as the quote sees it: how often a trial is stopped early and how far it trains.

Observed on the study's finished trials once it has a few, else the documented priors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna

from sweeper.quote._workload import max_steps, trial_recipe
from sweeper.study import LoadedStudy
from sweeper.trial_record import TrialRecord

#: Pruning, before the study has pruned anything. Optuna's median rule stops a trial whose
#: intermediate value is below the median of earlier trials at the same step: with exchangeable
#: trials that is ~0.5 at the first checkpoint, but a sampler that concentrates on good regions
#: (TPE) and the ties of an intermediate eval on a handful of items (``pruning.limit``, a tie is
#: not pruned) make it rarer. 0.3 sits below 0.5 on purpose: over-estimating pruning would make the
#: quote optimistic. Applies only once ``pruning.n_startup_trials`` trials have reported.
PRUNED_SHARE_PRIOR = 0.3
#: A pruned trial's share of its training, before the study has pruned anything: the mean of its
#: checkpoints after warm-up (``every_steps`` multiples below ``max_steps``), i.e. equally likely
#: to stop at each -- 0.5 for the shipped schedules (steps 5 and 10 of 15).
#: Observed values replace the priors once the study has this many trials that could be pruned
#: (p) / this many pruned trials (f).
MIN_PRUNING_TRIALS = 4
MIN_PRUNED_TRIALS = 2


@dataclass(frozen=True)
class PruningModel:
    """How often a trial that trains is pruned and how far it gets."""

    #: Share of the trials that train (once ``n_startup_trials`` reported) that are pruned.
    pruned_share: float
    #: Share of its training steps a pruned trial runs; ``None``: the prior, per configuration
    #: (its mean checkpoint after warm-up).
    pruned_training_share: float | None
    n_startup_trials: int
    source: str


def pruning_model(loaded: LoadedStudy, study: optuna.Study | None) -> PruningModel | None:
    """Observed on the study's finished trials when it has a few, else the documented priors."""
    cfg = loaded.spec.pruning
    if cfg is None:
        return None
    eligible = pruned = reporters = 0
    fractions = []
    trials = study.get_trials(deepcopy=False) if study is not None else []
    for record in sorted(map(TrialRecord.read, trials), key=lambda r: r.number):
        reports = record.intermediate
        if not reports:
            continue  # did not train with the pruning callback (cache hit, rejected, no budget)
        if record.state == optuna.trial.TrialState.PRUNED:
            pruned += 1
            eligible += 1
            try:
                steps = max_steps(loaded, trial_recipe(loaded, record.params).lora)
                fractions.append(min(max(int(k) for k in reports) / steps, 1.0))
            except (KeyError, TypeError, ValueError):
                pass
        elif record.state == optuna.trial.TrialState.COMPLETE:
            eligible += reporters >= cfg.n_startup_trials
            reporters += 1
    if eligible >= MIN_PRUNING_TRIALS:
        p, p_text = pruned / eligible, f"{pruned} of {eligible} prunable trials of this study"
    else:
        p, p_text = PRUNED_SHARE_PRIOR, f"prior, fewer than {MIN_PRUNING_TRIALS} prunable trials"
    if len(fractions) >= MIN_PRUNED_TRIALS:
        f, f_text = float(np.mean(fractions)), f"mean of {len(fractions)} pruned trials"
    else:
        f, f_text = None, "prior: mean checkpoint after warm-up"
    f_shown = f"{f:.2f}" if f is not None else "per configuration"
    return PruningModel(
        pruned_share=p,
        pruned_training_share=f,
        n_startup_trials=cfg.n_startup_trials,
        source=f"pruned share {p:.2f} ({p_text}) once {cfg.n_startup_trials} trial(s) reported; "
        f"a pruned trial trains {f_shown} of its steps ({f_text}) and is not evaluated",
    )


def pruning_checkpoints(loaded: LoadedStudy, max_steps: int) -> tuple[int, list[int]]:
    """Intermediate evaluations of a full training, and the steps at which pruning may stop it."""
    cfg = loaded.spec.pruning
    steps = list(range(cfg.every_steps, max_steps, cfg.every_steps))
    return len(steps), [s for s in steps if s > cfg.n_warmup_steps]
