"""The time model fitted on the study's own completed trials (what calibrates a quote).

Each completed trial says what it measured (trial user attribute ``metrics``) and what it did
(its parameters, its cache hits, its intermediate evaluations of pruning): a ``CalibrationRow``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import optuna

from sweeper.metrics import (
    EVAL_SECONDS,
    MERGE_SECONDS,
    QUANTIZE_SECONDS,
    TOKENS_TRAINED,
    TRAIN_SECONDS,
    WALL_SECONDS,
)
from sweeper.quote._time_model import MERGE_SECONDS_PRIOR, TrialTimeModel
from sweeper.quote._workload import (
    eval_items,
    intermediate_items,
    study_partners,
    train_tokens,
    trial_recipe,
)
from sweeper.search import RecipeSettings
from sweeper.study import LoadedStudy
from sweeper.trial_record import TrialRecord

#: How a time model fitted on the study's own completed trials names its source (the budget
#: guard stops overrunning trials only under such a model).
CALIBRATED_ON_TRIALS = "calibrated from"


@dataclass(frozen=True)
class CalibrationRow:
    """One completed trial of the study: what it measured and what work it did."""

    #: The trial's recorded metrics (``sweeper.metrics`` names).
    metrics: dict[str, Any]
    recipe: RecipeSettings
    #: Whether it trained its own LoRA (not a cache hit, some tokens trained).
    own: bool
    #: Tokens it trained: its LoRA's (if ``own``) and the merge partners' it trained.
    tokens: float
    #: Intermediate evaluations of pruning it ran.
    checks: int
    #: Whether its evaluation ran (not an eval cache hit).
    eval_ran: bool
    completed: datetime | None
    machine: str | None


def calibration_rows(loaded: LoadedStudy, study: optuna.Study) -> list[CalibrationRow]:
    """The study's completed trials with what each measured and did (``calibrated_time_model``)."""
    partners = study_partners(loaded)
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        record = TrialRecord.read(t)
        m = record.metrics
        if TRAIN_SECONDS not in m or WALL_SECONDS not in m:
            continue
        try:
            recipe = trial_recipe(loaded, record.params)
        except (KeyError, TypeError, ValueError):
            continue  # a trial of an earlier search space
        cache = record.cache or {}  # absent: a LoRA-only trial without a cache
        own = (
            not cache.get("lora", False) and m[TRAIN_SECONDS] > 0 and m.get(TOKENS_TRAINED, 1.0) > 0
        )
        tokens = train_tokens(loaded, recipe.lora) if own else 0.0
        tokens += sum(
            train_tokens(loaded, ps) for name, ps in partners if cache.get(f"lora.{name}") is False
        )
        rows.append(
            CalibrationRow(
                metrics=m,
                recipe=recipe,
                own=own,
                tokens=tokens,
                checks=len(record.intermediate),
                eval_ran=not cache.get("eval", False) and m.get(EVAL_SECONDS, 0.0) > 0,
                completed=record.completed,
                machine=record.machine,
            )
        )
    return rows


def calibrated_time_model(loaded: LoadedStudy, study: optuna.Study) -> TrialTimeModel | None:
    """Fit the time model on the study's completed trials (medians: these machines are noisy).

    Cache hits would skew it, so each term comes only from the trials that did that work:
    training speed from trials that trained their LoRA (``train_seconds`` and ``tokens_trained``
    > 0; tokens of partner LoRAs trained in the same trial added, intermediate evaluations of
    pruning taken out), evaluation, quantization and overhead (wall - train - eval - merge -
    quantize) from trials whose evaluation ran (not an eval cache hit), merge seconds from merging
    trials among those. ``spread``: each such trial's measured / predicted seconds.
    """
    rows = calibration_rows(loaded, study)
    evaluated = [r for r in rows if r.eval_ran]
    trained = [r for r in rows if r.own]
    if not evaluated or not trained:
        return None
    eval_s = statistics.median(r.metrics[EVAL_SECONDS] for r in evaluated)
    items = eval_items(loaded)
    check_s = eval_s * intermediate_items(loaded) / items if items else 0.0
    per_token = statistics.median(
        max(r.metrics[TRAIN_SECONDS] - r.checks * check_s, 0.1 * r.metrics[TRAIN_SECONDS])
        / r.tokens
        for r in trained
    )
    merging = [r for r in evaluated if r.recipe.merges and r.metrics.get(MERGE_SECONDS, 0) > 0]
    merge_s = (
        statistics.median(r.metrics[MERGE_SECONDS] for r in merging)
        if merging
        else MERGE_SECONDS_PRIOR
    )
    by_level: dict[str, list[float]] = {}
    for r in evaluated:
        by_level.setdefault(r.recipe.quantization, []).append(r.metrics.get(QUANTIZE_SECONDS, 0.0))
    quantize = {level: statistics.median(v) for level, v in by_level.items()}
    overhead = statistics.median(
        max(
            r.metrics[WALL_SECONDS]
            - r.metrics[TRAIN_SECONDS]
            - r.metrics[EVAL_SECONDS]
            - r.metrics.get(MERGE_SECONDS, 0.0)
            - r.metrics.get(QUANTIZE_SECONDS, 0.0),
            0.0,
        )
        for r in evaluated
    )
    model = TrialTimeModel(
        per_token,
        eval_s,
        overhead,
        "",
        merge_seconds=merge_s,
        quantize_seconds=quantize,
        intermediate_eval_seconds=check_s,
    )
    ratios = []
    for r in evaluated:
        predicted = model.seconds(
            train_tokens=r.tokens,
            intermediate_evals=r.checks,
            merges=r.recipe.merges,
            quantization=r.recipe.quantization,
        )
        if predicted > 0 and r.metrics[WALL_SECONDS] > 0:
            ratios.append(r.metrics[WALL_SECONDS] / predicted)
    left_out = len(rows) - len(evaluated)
    source = (
        f"{CALIBRATED_ON_TRIALS} {len(rows)} completed trial(s) of this study (training speed from "
        f"{len(trained)} that trained, evaluation and overhead from {len(evaluated)} that ran "
        "their evaluation"
        + (f", merge from {len(merging)}" if merging else "")
        + (f"; {left_out} cache-hit trial(s) left out" if left_out else "")
        + ")"
    )
    if ratios:
        lo, hi = min(ratios), max(ratios)
        source += (
            f"; measured/predicted seconds x{lo:.2f}..x{hi:.2f} on those trials, "
            "applied to every estimate (widens P90)"
        )
    return TrialTimeModel(
        per_token,
        eval_s,
        overhead,
        source,
        merge_seconds=merge_s,
        quantize_seconds=quantize,
        intermediate_eval_seconds=check_s,
        spread=tuple(ratios),
    )
