"""The work a study's storage records as done (cached): a quote's simulated trials reuse it."""

from __future__ import annotations

from dataclasses import dataclass, field

import optuna

from sweeper.quote._work_identity import lora_id, recipe_id
from sweeper.quote._workload import trial_recipe
from sweeper.study import LoadedStudy
from sweeper.trial_record import TrialRecord


@dataclass
class DoneWork:
    """The work the study's storage records as done (cached): simulated trials reuse it."""

    loras: set = field(default_factory=set)
    recipes: set = field(default_factory=set)
    partners: set = field(default_factory=set)
    #: Completed trials that reported intermediate values (the median rule's population).
    reporters: int = 0


def done_in_storage(loaded: LoadedStudy, study: optuna.Study | None) -> DoneWork:
    """Completed recipe trials: their LoRA, partner LoRAs and evaluation are in the work cache.

    (The cache is a folder on the workers' disk, ``cache_dir``; a quote assumes the next trials
    run where the earlier ones did.)
    """
    done = DoneWork()
    if study is None:
        return done
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        record = TrialRecord.read(t)
        if record.intermediate:
            done.reporters += 1
        cache = record.cache
        if not cache:
            continue  # a trial of a runner without a work cache
        try:
            recipe = trial_recipe(loaded, record.params)
        except (KeyError, TypeError, ValueError):
            continue
        done.loras.add(lora_id(recipe.lora))
        done.recipes.add(recipe_id(recipe))
        done.partners.update(step.split(".", 1)[1] for step in cache if step.startswith("lora."))
    return done
