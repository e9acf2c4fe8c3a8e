"""``sweeper quote``: what a sweep will cost before it runs, from the search space and cost model.

Per-trial time on the trial hardware comes from the study's own completed trials when there are
any (calibrated), else from this machine's measured matmul speed and memory bandwidth (physics
estimate: LoRA FLOPs over measured throughput; evaluation as prefill FLOPs plus bandwidth-bound
decoding). Full-scale training euros come from the cost model exactly as for a real trial.

A trial is a recipe (LoRA -> optional merge -> quantize -> evaluate) whose work is cached: a LoRA
configuration is trained once per study, each merge partner once, and an identical recipe is not
evaluated twice. So the quote has two per-trial views:

* ``per_trial.trial_seconds`` / ``cost_eur_trial``: a trial that has to do its work (train its
  LoRA, train the merge partners it needs that the storage has not trained yet, merge, quantize,
  evaluate, and the intermediate evaluations of pruning), over the search space -- the worst case,
  which the budget guard reserves (its P90);
* ``per_trial.*_in_study``: a trial of the simulated study, where cache hits cost almost nothing
  and pruned trials stop early (its mean is the expected cost of a trial).

The study total is a Monte Carlo over simulated studies of ``n_trials`` trials that replays the
cache and pruning (``_simulate``).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import optuna

import cost_models
from sweeper import hardware_probe
from sweeper.costing import (
    PricingContext,
    cost_eur_for_seconds,
    project_training,
    trial_hardware_price,
)
from sweeper.hardware_probe import FrameworkOverhead, MachineSpeed
from sweeper.model_config import study_model_shape
from sweeper.runner import ATTR_METRICS, STUDY_ATTR_BASELINE
from sweeper.search import (
    LoraSettings,
    RecipeSettings,
    fixed_values,
    recipe_settings,
    suggest,
)
from sweeper.storage import storage_exists
from sweeper.study import LoadedStudy

#: Share of the measured fp32 matmul throughput that HF Trainer + peft LoRA reach on CPU, before
#: calibration. Measured on the demo study (2-core CPU, SmolLM2-135M, batch 4 x 160): 0.7
#: (3.3 ms per training token against 6.7 ms predicted at 0.35). The first completed trial of a
#: study replaces this prior with its own measurements (``calibrated_time_model``).
CPU_TRAIN_EFFICIENCY = 0.7
#: Seconds to load the model per trial, before calibration (measured: 0.2-4 s for 135M in fp32).
TRIAL_OVERHEAD_S = 5.0
#: Seconds of a mergekit merge of the 135M trial model, before calibration: it loads the base and
#: every partner (fp32, ~0.5 GB each), applies the adapters and writes the merged folder -- disk-
#: and memory-bound, tens of seconds on a 2-core CPU. The first merging trial calibrates it.
MERGE_SECONDS_PRIOR = 20.0
#: Seconds to quantize the 135M trial model, before calibration (measured: 0.4 s for fp16;
#: int8/int4 convert every linear layer, a few seconds).
QUANTIZE_SECONDS_PRIOR = 2.0

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
#: Simulated studies for the Monte Carlo study total (fewer for very long studies: the cost of a
#: quote is studies x trials).
SIMULATED_STUDIES = 2000
MAX_SIMULATED_TRIALS = 400_000


@dataclass(frozen=True)
class TrialTimeModel:
    """Seconds a trial takes on the trial hardware, as a function of what it has to do."""

    seconds_per_train_token: float
    eval_seconds: float
    overhead_seconds: float
    source: str
    #: A mergekit merge (merging trials whose evaluation runs).
    merge_seconds: float = MERGE_SECONDS_PRIOR
    #: Quantization seconds by level (levels not listed: ``QUANTIZE_SECONDS_PRIOR``, fp32: 0).
    quantize_seconds: dict[str, float] = field(default_factory=dict)
    #: One intermediate evaluation of pruning (``pruning.limit`` items of the metric's task).
    intermediate_eval_seconds: float = 0.0
    #: Measured / predicted seconds of the calibration trials (empty: uncalibrated).
    spread: tuple[float, ...] = ()
    #: The physics model's framework-overhead parts (``hardware_probe.FrameworkOverhead``): per
    #: training run, per trained token (its steps' share) and per evaluation; the rest is compute.
    train_setup_seconds: float = 0.0
    train_overhead_per_token: float = 0.0
    eval_overhead_seconds: float = 0.0
    #: Tokens of compute a training run pays once more than it trains: its first step allocates
    #: activations, gradients and optimizer state (measured: about one step on a 135M model).
    train_warmup_tokens: float = 0.0

    @property
    def train_compute_per_token(self) -> float:
        return self.seconds_per_train_token - self.train_overhead_per_token

    def train_run_seconds(self, tokens: float) -> float:
        """One training run of ``tokens`` tokens: its set-up and warm-up, then its steps."""
        if tokens <= 0:
            return 0.0
        warmup = self.train_setup_seconds + self.train_compute_per_token * self.train_warmup_tokens
        return warmup + self.seconds_per_train_token * tokens

    def quantize(self, level: str) -> float:
        default = 0.0 if level == "fp32" else QUANTIZE_SECONDS_PRIOR
        return self.quantize_seconds.get(level, default)

    def seconds(
        self,
        *,
        train_tokens: float = 0.0,
        intermediate_evals: float = 0.0,
        evaluates: bool = True,
        merges: bool = False,
        quantization: str = "fp32",
    ) -> float:
        """A trial that trains ``train_tokens`` (its LoRA and any partners), runs
        ``intermediate_evals`` pruning evaluations and, if ``evaluates``, merges (if ``merges``),
        quantizes and evaluates; plus the per-trial overhead."""
        s = self.overhead_seconds + self.train_run_seconds(train_tokens)
        s += intermediate_evals * self.intermediate_eval_seconds
        if evaluates:
            s += self.eval_seconds + self.quantize(quantization)
            s += self.merge_seconds if merges else 0.0
        return s

    def trial_seconds(self, train_tokens: float) -> float:
        """A LoRA-only fp32 trial that trains ``train_tokens`` (no merge, no pruning)."""
        return self.seconds(train_tokens=train_tokens)


def _train_tokens(loaded: LoadedStudy, settings: LoraSettings) -> float:
    t = loaded.spec.training
    return float(settings.epochs * t.steps_per_epoch * t.batch_size * t.seq_len)


def _max_steps(loaded: LoadedStudy, settings: LoraSettings) -> int:
    return settings.epochs * loaded.spec.training.steps_per_epoch


def _trial_recipe(loaded: LoadedStudy, params: dict[str, Any]) -> RecipeSettings:
    return recipe_settings({**fixed_values(loaded.spec.search_space), **params})


def _study_partners(loaded: LoadedStudy) -> list[tuple[str, LoraSettings]]:
    """The merge partners the study trains itself (a partner given as a folder costs nothing)."""
    if loaded.spec.merge is None:
        return []
    from sweeper.recipe._objective import partner_settings

    return [(p.name, partner_settings(p)) for p in loaded.spec.merge.partners if p.train]


def _lora_id(s: LoraSettings) -> tuple:
    """What identifies a trained adapter within a study (the cache key's varying inputs)."""
    return tuple(sorted(s.as_params().items()))


def _recipe_id(r: RecipeSettings) -> tuple:
    """What identifies an evaluation within a study (the eval cache key's varying inputs)."""
    return (_lora_id(r.lora), r.merge_method, r.merge_weight, r.merge_density, r.quantization)


#: The dimensions that identify a trained LoRA adapter.
LORA_DIMENSIONS = (
    "lora_r",
    "lora_alpha_ratio",
    "learning_rate",
    "target_modules",
    "epochs",
    "lora_dropout",
)


def _continuous(loaded: LoadedStudy) -> set[str]:
    """Dimensions sampled from a continuous range: no two trials draw the same value, so work
    that depends on one is never reused (whatever the finite sample of the quote repeats)."""
    from sweeper.study import Range

    space = loaded.spec.search_space
    return {
        name
        for name in (*LORA_DIMENSIONS, "merge_weight", "merge_density")
        if isinstance(getattr(space, name), Range)
        and getattr(space, name).step is None
        and name not in ("lora_r", "epochs")
    }


def _eval_items(loaded: LoadedStudy) -> float:
    from objectives import task_workload

    limit = loaded.spec.eval.limit
    return float(sum(task_workload(t, limit=limit).n_items for t in loaded.eval_tasks.values()))


def _pruning_task(loaded: LoadedStudy) -> Any:
    spec = loaded.spec
    if spec.pruning is None:
        return None
    metric = spec.pruning.metric or next(
        o.name for o in spec.objectives if o.name in spec.eval.tasks
    )
    return loaded.eval_tasks[metric]


def _intermediate_items(loaded: LoadedStudy) -> float:
    from objectives import task_workload

    task = _pruning_task(loaded)
    if task is None:
        return 0.0
    return float(task_workload(task.with_limit(loaded.spec.pruning.limit)).n_items)


def _calibration_rows(loaded: LoadedStudy, study: optuna.Study) -> list[dict[str, Any]]:
    """The study's completed trials with what each measured and did (``calibrated_time_model``)."""
    from sweeper.recipe import ATTR_CACHE, ATTR_MACHINE
    from sweeper.recipe._pruning import ATTR_INTERMEDIATE

    partners = _study_partners(loaded)
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        m = t.user_attrs.get(ATTR_METRICS, {})
        if "train_seconds" not in m or "wall_seconds" not in m:
            continue
        try:
            recipe = _trial_recipe(loaded, t.params)
        except (KeyError, TypeError, ValueError):
            continue  # a trial of an earlier search space
        cache = t.user_attrs.get(ATTR_CACHE) or {}  # absent: a LoRA-only trial without a cache
        own = (
            not cache.get("lora", False)
            and m["train_seconds"] > 0
            and m.get("tokens_trained", 1.0) > 0
        )
        tokens = _train_tokens(loaded, recipe.lora) if own else 0.0
        tokens += sum(
            _train_tokens(loaded, ps) for name, ps in partners if cache.get(f"lora.{name}") is False
        )
        rows.append(
            {
                "m": m,
                "recipe": recipe,
                "own": own,
                "tokens": tokens,
                "checks": len(t.user_attrs.get(ATTR_INTERMEDIATE) or {}),
                "eval_ran": not cache.get("eval", False) and m.get("eval_seconds", 0.0) > 0,
                "completed": t.datetime_complete,
                "machine": t.user_attrs.get(ATTR_MACHINE),
            }
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
    rows = _calibration_rows(loaded, study)
    evaluated = [r for r in rows if r["eval_ran"]]
    trained = [r for r in rows if r["own"]]
    if not evaluated or not trained:
        return None
    eval_s = statistics.median(r["m"]["eval_seconds"] for r in evaluated)
    items = _eval_items(loaded)
    check_s = eval_s * _intermediate_items(loaded) / items if items else 0.0
    per_token = statistics.median(
        max(r["m"]["train_seconds"] - r["checks"] * check_s, 0.1 * r["m"]["train_seconds"])
        / r["tokens"]
        for r in trained
    )
    merging = [r for r in evaluated if r["recipe"].merges and r["m"].get("merge_seconds", 0) > 0]
    merge_s = (
        statistics.median(r["m"]["merge_seconds"] for r in merging)
        if merging
        else MERGE_SECONDS_PRIOR
    )
    by_level: dict[str, list[float]] = {}
    for r in evaluated:
        by_level.setdefault(r["recipe"].quantization, []).append(
            r["m"].get("quantize_seconds", 0.0)
        )
    quantize = {level: statistics.median(v) for level, v in by_level.items()}
    overhead = statistics.median(
        max(
            r["m"]["wall_seconds"]
            - r["m"]["train_seconds"]
            - r["m"]["eval_seconds"]
            - r["m"].get("merge_seconds", 0.0)
            - r["m"].get("quantize_seconds", 0.0),
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
            train_tokens=r["tokens"],
            intermediate_evals=r["checks"],
            merges=r["recipe"].merges,
            quantization=r["recipe"].quantization,
        )
        if predicted > 0 and r["m"]["wall_seconds"] > 0:
            ratios.append(r["m"]["wall_seconds"] / predicted)
    left_out = len(rows) - len(evaluated)
    source = (
        f"calibrated from {len(rows)} completed trial(s) of this study (training speed from "
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


def physics_time_model(
    loaded: LoadedStudy,
    trial_params: float,
    adapter_params: float,
    *,
    layers: int | None = None,
    speed: MachineSpeed | None = None,
    overhead: FrameworkOverhead | None = None,
) -> TrialTimeModel:
    """Estimate from this machine's measured speed, before any trial has run.

    Two terms each for training and evaluation: compute (FLOPs over the measured matmul
    throughput; decode bytes over the measured bandwidth) and the framework's overhead per step
    and per layer (``hardware_probe.framework_overhead``), which dominates small models on a CPU.
    ``calibrate_time_model`` scales the compute terms from one measured run. ``speed`` and
    ``overhead``: probes already at hand (default: this machine's, measured if not cached).
    """
    from objectives import task_workload

    hw = loaded.spec.hardware.trial
    speed = speed or hardware_probe.machine_speed()
    fw = overhead or hardware_probe.framework_overhead()
    n_layers = layers if layers is not None else _trial_model_layers(loaded)
    tflops = hw.tflops or speed.matmul_tflops
    bandwidth = (hw.memory_bandwidth_gb_s or speed.memory_bandwidth_gb_s) * 1e9
    flops_per_s = tflops * 1e12 * CPU_TRAIN_EFFICIENCY
    compute_per_token = (
        cost_models.training_flops(trial_params, 1.0, "lora", adapter_params=adapter_params)
        / flops_per_s
    )
    t = loaded.spec.training
    overhead_per_token = fw.train_step_seconds(n_layers) / (t.batch_size * t.seq_len)
    weight_bytes = 4.0 * trial_params  # fp32 on CPU
    batch = loaded.spec.eval.batch_size

    def eval_seconds(task: Any, limit: int | None) -> tuple[float, float]:
        """(compute, overhead) seconds of one task."""
        w = task_workload(task, limit=limit)
        prefill = 2.0 * trial_params * w.prompt_tokens_total / flops_per_s
        decode_steps = np.ceil(w.n_generations / batch) * w.max_new_tokens
        passes = np.ceil(w.n_requests / batch) + decode_steps
        compute = prefill + decode_steps * weight_bytes / bandwidth
        return float(compute), fw.eval_seconds(float(passes), n_layers)

    parts = [eval_seconds(task, loaded.spec.eval.limit) for task in loaded.eval_tasks.values()]
    task = _pruning_task(loaded)
    check_s = (
        sum(eval_seconds(task.with_limit(loaded.spec.pruning.limit), None))
        if task is not None
        else 0.0
    )
    return TrialTimeModel(
        compute_per_token + overhead_per_token,
        sum(c + o for c, o in parts),
        TRIAL_OVERHEAD_S,
        f"uncalibrated estimate from this machine's measured speed ({tflops:.2f} TFLOP/s matmul, "
        f"{bandwidth / 1e9:.1f} GB/s, framework overhead {1000 * fw.train_layer_step_s:.1f} ms "
        f"per layer-step{_busy_note(speed, fw)}); the first completed trial calibrates it",
        intermediate_eval_seconds=float(check_s),
        train_setup_seconds=fw.train_setup_s,
        train_overhead_per_token=overhead_per_token,
        train_warmup_tokens=float(t.batch_size * t.seq_len),
        eval_overhead_seconds=sum(o for _, o in parts),
    )


def check_probe_against_trials(loaded: LoadedStudy, study: optuna.Study) -> str | None:
    """Compare this machine's cached probe with the study's trials measured on this machine
    since it ran (at least ``hardware_probe.DISAGREEMENT_MIN_TRIALS``); when they took more than
    ``DISAGREEMENT_LIMIT`` times its prediction (or less than its inverse), clear the cached
    probe so the next uncalibrated quote measures again, and say so in one line. None: nothing
    to compare (no cached probe, too few trials since, declared trial hardware) or they agree."""
    speed = hardware_probe.cached_machine_speed()
    fw = hardware_probe.cached_framework_overhead()
    if speed is None or fw is None or loaded.spec.hardware.trial.tflops is not None:
        return None
    since = min(
        datetime.fromisoformat(c.measured_at) for c in (speed.conditions, fw.conditions) if c
    )
    here = hardware_probe.machine_name()
    rows = [
        r
        for r in _calibration_rows(loaded, study)
        if r["own"]
        and r["eval_ran"]
        and r["machine"] == here
        and r["completed"] is not None
        and r["completed"].astimezone(timezone.utc) > since
    ]
    if not rows:
        return None
    typical = rows[len(rows) // 2]["recipe"].lora
    adapter = cost_models.lora_adapter_params(
        _trial_shape(loaded), typical.r, typical.target_modules
    )
    physics = physics_time_model(
        loaded, _trial_model_params(loaded), float(adapter), speed=speed, overhead=fw
    )
    k = hardware_probe.disagreement_factor(
        [r["m"]["train_seconds"] + r["m"]["eval_seconds"] for r in rows],
        [
            physics.train_run_seconds(r["tokens"])
            + r["checks"] * physics.intermediate_eval_seconds
            + physics.eval_seconds
            for r in rows
        ],
    )
    if k is None or not hardware_probe.disagrees(k):
        return None
    hardware_probe.invalidate()
    return (
        f"machine probe: {len(rows)} trial(s) of this study measured since the probe ran "
        f"trained and evaluated in x{k:.2f} the time it predicts (more than "
        f"x{hardware_probe.DISAGREEMENT_LIMIT:g} off); its cache in {hardware_probe.cache_dir()} "
        "is cleared, the next uncalibrated quote measures again (or: sweeper probe --refresh)"
    )


def _busy_note(speed: MachineSpeed, fw: FrameworkOverhead) -> str:
    busy = [c for c in (speed.conditions, fw.conditions) if c is not None and c.busy]
    if not busy:
        return ""
    return (
        f"; probed on a BUSY machine ({100 * max(c.others_cpu_share for c in busy):.0f}% of the "
        "CPU used by other processes): run `sweeper probe --refresh` when it is quiet"
    )


def calibrate_time_model(
    model: TrialTimeModel,
    *,
    train_tokens: float,
    measured_train_seconds: float,
    measured_eval_seconds: float,
) -> TrialTimeModel:
    """``model`` with its compute terms scaled by one measured run (``train_tokens`` trained in
    ``measured_train_seconds``, the study's evaluation in ``measured_eval_seconds``).

    The framework overhead stays as the probe measured it; what the run adds or lacks beyond it is
    compute efficiency (matmul sizes, memory traffic, threads) and moves with FLOPs, so the
    factors (``compute_factors``) carry over to other ranks, step counts and model sizes on the
    same machine (``with_compute_factors``).
    """
    k_train, k_eval = compute_factors(
        model,
        train_tokens=train_tokens,
        measured_train_seconds=measured_train_seconds,
        measured_eval_seconds=measured_eval_seconds,
    )
    return with_compute_factors(model, k_train, k_eval)


def compute_factors(
    model: TrialTimeModel,
    *,
    train_tokens: float,
    measured_train_seconds: float,
    measured_eval_seconds: float,
) -> tuple[float, float]:
    """Measured / predicted compute seconds of one run, training and evaluation (the overhead
    terms taken out of both sides)."""
    k_train = _compute_factor(
        measured_train_seconds
        - model.train_setup_seconds
        - model.train_overhead_per_token * train_tokens,
        model.train_compute_per_token * (train_tokens + model.train_warmup_tokens),
    )
    k_eval = _compute_factor(
        measured_eval_seconds - model.eval_overhead_seconds,
        model.eval_seconds - model.eval_overhead_seconds,
    )
    return k_train, k_eval


def with_compute_factors(model: TrialTimeModel, k_train: float, k_eval: float) -> TrialTimeModel:
    """``model`` with its compute terms (not its overhead) multiplied by the factors."""
    eval_compute = model.eval_seconds - model.eval_overhead_seconds
    return replace(
        model,
        seconds_per_train_token=model.train_overhead_per_token
        + k_train * model.train_compute_per_token,
        eval_seconds=model.eval_overhead_seconds + k_eval * eval_compute,
        source=f"{model.source}; compute calibrated x{k_train:.2f} (training), "
        f"x{k_eval:.2f} (evaluation) from one run",
    )


#: A calibration factor outside this range says the run measured something else (a cold disk, a
#: busy machine): it is clamped rather than trusted.
COMPUTE_FACTOR_RANGE = (0.05, 50.0)


def _compute_factor(measured_compute: float, predicted_compute: float) -> float:
    if predicted_compute <= 0:
        return 1.0
    lo, hi = COMPUTE_FACTOR_RANGE
    return min(max(measured_compute / predicted_compute, lo), hi)


#: Sampled configurations by (study file hash, samples, seed): a seeded random sample of a search
#: space is the same every time, and the budget guard re-quotes during a sweep.
_CONFIGS: dict[tuple[str, int, int], list[RecipeSettings]] = {}


def _sampled_configs(loaded: LoadedStudy, samples: int, seed: int) -> list[RecipeSettings]:
    key = (loaded.sha256, samples, seed)
    if key not in _CONFIGS:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler_study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        space = loaded.spec.search_space
        _CONFIGS[key] = [
            recipe_settings(suggest(sampler_study.ask(), space)) for _ in range(samples)
        ]
        while len(_CONFIGS) > 16:
            _CONFIGS.pop(next(iter(_CONFIGS)))
    return _CONFIGS[key]


@dataclass
class _Done:
    """The work the study's storage records as done (cached): simulated trials reuse it."""

    loras: set = field(default_factory=set)
    recipes: set = field(default_factory=set)
    partners: set = field(default_factory=set)
    #: Completed trials that reported intermediate values (the median rule's population).
    reporters: int = 0


def _done_in_storage(loaded: LoadedStudy, study: optuna.Study | None) -> _Done:
    """Completed recipe trials: their LoRA, partner LoRAs and evaluation are in the work cache.

    (The cache is a folder on the workers' disk, ``cache_dir``; a quote assumes the next trials
    run where the earlier ones did.)
    """
    from sweeper.recipe import ATTR_CACHE
    from sweeper.recipe._pruning import ATTR_INTERMEDIATE

    done = _Done()
    if study is None:
        return done
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if t.user_attrs.get(ATTR_INTERMEDIATE):
            done.reporters += 1
        cache = t.user_attrs.get(ATTR_CACHE)
        if not cache:
            continue  # a trial of a runner without a work cache
        try:
            recipe = _trial_recipe(loaded, t.params)
        except (KeyError, TypeError, ValueError):
            continue
        done.loras.add(_lora_id(recipe.lora))
        done.recipes.add(_recipe_id(recipe))
        done.partners.update(step.split(".", 1)[1] for step in cache if step.startswith("lora."))
    return done


@dataclass(frozen=True)
class PruningModel:
    """How often a trial that trains is pruned (``p``) and how far it gets (``f``)."""

    p: float
    f: float | None  # None: the prior, per configuration (its mean checkpoint after warm-up)
    n_startup_trials: int
    source: str


def pruning_model(loaded: LoadedStudy, study: optuna.Study | None) -> PruningModel | None:
    """Observed on the study's finished trials when it has a few, else the documented priors."""
    from sweeper.recipe._pruning import ATTR_INTERMEDIATE

    cfg = loaded.spec.pruning
    if cfg is None:
        return None
    eligible = pruned = reporters = 0
    fractions = []
    trials = study.get_trials(deepcopy=False) if study is not None else []
    for t in sorted(trials, key=lambda t: t.number):
        reports = t.user_attrs.get(ATTR_INTERMEDIATE) or {}
        if not reports:
            continue  # did not train with the pruning callback (cache hit, rejected, no budget)
        if t.state == optuna.trial.TrialState.PRUNED:
            pruned += 1
            eligible += 1
            try:
                steps = _max_steps(loaded, _trial_recipe(loaded, t.params).lora)
                fractions.append(min(max(int(k) for k in reports) / steps, 1.0))
            except (KeyError, TypeError, ValueError):
                pass
        elif t.state == optuna.trial.TrialState.COMPLETE:
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
        p,
        f,
        cfg.n_startup_trials,
        f"pruned share {p:.2f} ({p_text}) once {cfg.n_startup_trials} trial(s) reported; "
        f"a pruned trial trains {f_shown} of its steps ({f_text}) and is not evaluated",
    )


def _checkpoints(loaded: LoadedStudy, max_steps: int) -> tuple[int, list[int]]:
    """Intermediate evaluations of a full training, and the steps at which pruning may stop it."""
    cfg = loaded.spec.pruning
    steps = list(range(cfg.every_steps, max_steps, cfg.every_steps))
    return len(steps), [s for s in steps if s > cfg.n_warmup_steps]


def quote_study(
    loaded: LoadedStudy,
    *,
    n_trials: int,
    samples: int = 200,
    storage_url: str | None = None,
    seed: int = 0,
    study: optuna.Study | None = None,
    projections: bool = True,
) -> dict[str, Any]:
    """Sample the search space, price every sample, and summarise per trial and for ``n_trials``.

    ``study``: the study already open (the runner's), instead of loading it from ``storage_url``.
    ``projections=False`` skips the full-scale training projections (NaN in the result): the
    budget guard's re-quotes need only the trials' own euros and seconds.
    """
    spec = loaded.spec
    _trial_shape(loaded)  # a model config that cannot be read fails here, before any probe
    ctx = PricingContext.load()
    hw = trial_hardware_price(spec, ctx)
    configs = _sampled_configs(loaded, samples, seed)

    time_model = baseline_done = probe_note = None
    if study is not None:  # the runner's own re-quotes: no probe check mid-sweep
        time_model = calibrated_time_model(loaded, study)
        baseline_done = STUDY_ATTR_BASELINE in study.user_attrs
    elif storage_url is not None and storage_exists(storage_url):
        try:
            from sweeper.storage import open_storage

            study = optuna.load_study(study_name=loaded.name, storage=open_storage(storage_url))
            time_model = calibrated_time_model(loaded, study)
            baseline_done = STUDY_ATTR_BASELINE in study.user_attrs
        except KeyError:
            pass
        if time_model is not None:
            probe_note = check_probe_against_trials(loaded, study)
    if time_model is None:
        typical = configs[len(configs) // 2].lora
        time_model = physics_time_model(
            loaded,
            _trial_model_params(loaded),
            float(
                cost_models.lora_adapter_params(
                    _trial_shape(loaded), typical.r, typical.target_modules
                )
            ),
        )
    done = _done_in_storage(loaded, study)
    pruning = pruning_model(loaded, study)
    partners = _study_partners(loaded)
    to_train = [(name, s) for name, s in partners if name not in done.partners]
    tm = time_model
    partner_train_s = sum(tm.train_run_seconds(_train_tokens(loaded, s)) for _, s in to_train)

    # Each sampled configuration, in parts: the simulation adds up the parts a trial pays.
    parts = []
    rows = []
    for r in configs:
        tokens = _train_tokens(loaded, r.lora)
        max_steps = _max_steps(loaded, r.lora)
        n_checks, prunable = _checkpoints(loaded, max_steps) if pruning else (0, [])
        train_s = tm.train_run_seconds(tokens) + n_checks * tm.intermediate_eval_seconds
        if pruning is not None and prunable:
            if pruning.f is None:  # the prior: equally likely to stop at each checkpoint
                frac = float(np.mean(prunable)) / max_steps
                evals = float(np.mean(prunable)) / spec.pruning.every_steps
            else:
                frac = pruning.f
                evals = max(1.0, np.floor(frac * max_steps / spec.pruning.every_steps))
            pruned_s = tm.train_run_seconds(tokens * frac) + evals * tm.intermediate_eval_seconds
        else:
            pruned_s = None  # never pruned (no pruning, or no checkpoint after warm-up)
        finish_s = tm.seconds(merges=r.merges, quantization=r.quantization) - tm.overhead_seconds
        partner_s = partner_train_s if r.merges else 0.0
        worst = tm.overhead_seconds + train_s + partner_s + finish_s
        parts.append((train_s, pruned_s, partner_s, finish_s))
        proj = _projection(loaded, r, partners, ctx) if projections else (math.nan, math.nan)
        rows.append((worst, cost_eur_for_seconds(worst, hw.eur_per_hour), *proj))
    arr = np.array(rows)

    # Measured / predicted seconds of the calibration trials, centred on their median (the model
    # is fitted on medians): each estimate is multiplied by a draw of it. A trial that ran 3x its
    # prediction (the first training in a fresh process: imports, warm-up) widens P90.
    spread = np.array(tm.spread or (1.0,))
    spread = spread / np.median(spread)
    rng = np.random.default_rng(seed)
    sim = _simulate(
        n_trials,
        configs,
        parts,
        done,
        pruning,
        tm.overhead_seconds,
        spread,
        rng,
        grid=spec.sampler.name == "grid",
        continuous=_continuous(loaded),
    )
    totals_s = sim["trial_seconds"].sum(axis=1)
    base_s = tm.eval_seconds + tm.overhead_seconds
    if baseline_done is not True:  # the base model is evaluated once per study
        totals_s = totals_s + base_s
    totals_eur = cost_eur_for_seconds(1.0, hw.eur_per_hour) * totals_s
    worst_s = (arr[:, 0][:, None] * spread[None, :]).ravel()
    in_study_s = sim["trial_seconds"].ravel()

    def pct(values: np.ndarray, mean: bool = False) -> dict[str, float]:
        out = {
            p: float(np.percentile(values, q)) for p, q in (("p10", 10), ("p50", 50), ("p90", 90))
        }
        return out | ({"mean": float(np.mean(values))} if mean else {})

    def eur(seconds: np.ndarray) -> np.ndarray:
        return cost_eur_for_seconds(1.0, hw.eur_per_hour) * seconds

    proj0 = project_training(spec, configs[0].lora, ctx)
    total_p50_eur = float(np.percentile(totals_eur, 50))
    n_sims = sim["trial_seconds"].shape[0]
    return {
        "study": loaded.name,
        "n_trials": n_trials,
        "samples": samples,
        "trial_hardware": hw.name,
        "trial_eur_per_hour": hw.eur_per_hour,
        "calibration": tm.source,
        "machine_probe": probe_note,
        "per_trial_basis": (
            "trial_seconds and cost_eur_trial: a trial that does all its work (trains its LoRA "
            + ("and the merge partners not trained yet, " if to_train else "")
            + "evaluates; not pruned), the worst case the budget guard reserves; *_in_study: "
            "a trial of the simulated study (cache hits, pruning), mean = expected cost"
        ),
        "per_trial": {
            "trial_seconds": pct(worst_s),
            "cost_eur_trial": pct(eur(worst_s)),
            "trial_seconds_in_study": pct(in_study_s, mean=True),
            "cost_eur_trial_in_study": pct(eur(in_study_s), mean=True),
            "cost_eur_train_projected": pct(arr[:, 2]),
            "gpu_hours_train_projected": pct(arr[:, 3]),
        },
        "study_total": {
            "cost_eur_p50": total_p50_eur,
            "cost_eur_p90": float(np.percentile(totals_eur, 90)),
            "hours_p50": float(np.percentile(totals_s, 50)) / 3600,
            "hours_p90": float(np.percentile(totals_s, 90)) / 3600,
            "includes_baseline_eval": baseline_done is not True,
            "studies_simulated": n_sims,
        },
        "simulation": {
            # None: a LoRA dimension is continuous, every trial trains a new configuration.
            "lora_configs_in_space": (
                None
                if _continuous(loaded) & set(LORA_DIMENSIONS)
                else len({_lora_id(r.lora) for r in configs})
            ),
            "lora_configs_trained_in_storage": len(done.loras),
            "lora_trainings_mean": float(sim["lora_trainings"].mean()),
            "partners": [name for name, _ in partners],
            "partners_trained_in_storage": sorted(done.partners),
            "partner_trainings_mean": float(sim["partner_trainings"].mean()),
            "recipe_cache_hits_mean": float(sim["cache_hits"].mean()),
            "pruned_share_mean": float(sim["pruned"].mean()) / max(n_trials, 1),
            "pruning": None if pruning is None else pruning.source,
            "spread_ratios": [float(x) for x in tm.spread],
        },
        "baseline_eval": {
            "seconds": base_s,
            "cost_eur": cost_eur_for_seconds(base_s, hw.eur_per_hour),
            "done": baseline_done is True,
        },
        "target": {
            "instance": proj0.target_instance,
            "gpu": proj0.target_gpu,
            "pricing": proj0.target_pricing,
            "eur_per_hour": proj0.target_eur_per_hour,
            "mfu": proj0.mfu,
            "params": proj0.target_params,
            "model": spec.projection.model or ("params" if spec.projection.params else "own"),
        },
        "model": _model_summary(loaded),
        "budget": _budget(loaded, storage_url, study, total_p50_eur),
        "assumptions": f"target {proj0.target_instance} {proj0.target_pricing} at "
        f"€{proj0.target_eur_per_hour:.3f}/h, MFU {proj0.mfu:.2f}; {ctx.fx.describe()}; "
        f"catalog v{ctx.catalog.version}",
    }


def _projection(
    loaded: LoadedStudy,
    r: RecipeSettings,
    partners: list[tuple[str, LoraSettings]],
    ctx: PricingContext,
) -> tuple[float, float]:
    """Full-scale training of a recipe (€, GPU-hours): its LoRA plus the partner LoRAs it merges
    with, on its target instance -- as the trial itself reports it."""
    kw = {"target_instance": r.target_instance, "target_pricing": r.target_pricing}
    own = project_training(loaded.spec, r.lora, ctx, **kw)
    eur, gpu_h = own.cost_eur_train_projected, own.gpu_hours_train_projected
    for _, s in partners if r.merges else []:
        part = project_training(loaded.spec, s, ctx, **kw)
        eur += part.cost_eur_train_projected
        gpu_h += part.gpu_hours_train_projected
    return eur, gpu_h


def _simulate(
    n_trials: int,
    configs: list[RecipeSettings],
    parts: list[tuple[float, float | None, float, float]],
    done: _Done,
    pruning: PruningModel | None,
    overhead_s: float,
    spread: np.ndarray,
    rng: np.random.Generator,
    *,
    grid: bool,
    continuous: set[str] = frozenset(),
) -> dict[str, np.ndarray]:
    """Simulated studies of ``n_trials`` trials drawn from ``configs``, replaying the work cache.

    In each: a LoRA configuration is trained the first time it is drawn (free if the storage
    already trained it); the partner LoRAs once, by the first merging trial that gets that far
    (free if already trained); a recipe already evaluated costs only the overhead; a trial that
    trains may be pruned (probability ``p`` once ``n_startup_trials`` trials reported) -- it pays
    its share of training and intermediate evaluations, caches nothing, and is not evaluated.
    A grid sampler draws each configuration once before any repeats; other samplers at random.
    """
    n = max(n_trials, 1)
    n_sims = max(200, min(SIMULATED_STUDIES, MAX_SIMULATED_TRIALS // n))
    lora_ids: dict[tuple, int] = {}
    recipe_ids: dict[tuple, int] = {}
    lora = [lora_ids.setdefault(_lora_id(r.lora), len(lora_ids)) for r in configs]
    recipe = [recipe_ids.setdefault(_recipe_id(r), len(recipe_ids)) for r in configs]
    trained0 = {lora_ids[k] for k in done.loras if k in lora_ids}
    seen0 = {recipe_ids[k] for k in done.recipes if k in recipe_ids}
    merges = [r.merges for r in configs]
    fresh_lora = bool(continuous & set(LORA_DIMENSIONS))
    fresh_recipe = [
        fresh_lora
        or (r.merge_weight is not None and "merge_weight" in continuous)
        or (r.merge_density is not None and "merge_density" in continuous)
        for r in configs
    ]
    if grid:  # one draw per grid cell (distinct parameters) before any repeat
        cells: dict[tuple, int] = {}
        for i, r in enumerate(configs):
            cells.setdefault(
                tuple(sorted(r.as_params().items())) + (r.target_instance, r.target_pricing), i
            )
        firsts = np.array(list(cells.values()))
        draws = rng.integers(0, len(configs), size=(n_sims, n))
        k = min(n, len(firsts))
        for s in range(n_sims):
            draws[s, :k] = rng.permutation(firsts)[:k]
    else:
        draws = rng.integers(0, len(configs), size=(n_sims, n))
    ratios = rng.choice(spread, size=(n_sims, n))
    uniform = rng.random((n_sims, n))
    p = pruning.p if pruning is not None else 0.0
    n_startup = pruning.n_startup_trials if pruning is not None else 0
    seconds = np.zeros((n_sims, n))
    lora_trainings = np.zeros(n_sims)
    partner_trainings = np.zeros(n_sims)
    cache_hits = np.zeros(n_sims)
    pruned = np.zeros(n_sims)
    for s in range(n_sims):
        trained, seen = set(trained0), set(seen0)
        partners_done = False
        reporters = done.reporters
        for k in range(n):
            i = draws[s, k]
            train_s, pruned_s, partner_s, finish_s = parts[i]
            sec = overhead_s
            if not fresh_recipe[i] and recipe[i] in seen:
                cache_hits[s] += 1
            else:
                if fresh_lora or lora[i] not in trained:
                    if pruned_s is not None and reporters >= n_startup and uniform[s, k] < p:
                        seconds[s, k] = (sec + pruned_s) * ratios[s, k]
                        pruned[s] += 1
                        continue
                    sec += train_s
                    trained.add(lora[i])
                    lora_trainings[s] += 1
                    reporters += pruning is not None
                if merges[i] and not partners_done:
                    partners_done = True
                    if partner_s > 0:
                        sec += partner_s
                        partner_trainings[s] += 1
                sec += finish_s
                seen.add(recipe[i])
            seconds[s, k] = sec * ratios[s, k]
    if n_trials == 0:
        seconds = seconds[:, :0]
    return {
        "trial_seconds": seconds,
        "lora_trainings": lora_trainings,
        "partner_trainings": partner_trainings,
        "cache_hits": cache_hits,
        "pruned": pruned,
    }


def _budget(
    loaded: LoadedStudy, storage_url: str | None, study: optuna.Study | None, total_p50_eur: float
) -> dict[str, Any] | None:
    """The budget the run will be held to, what remains of it, and whether the P50 quote fits."""
    from sweeper.budget_guard import budget_position

    if storage_url is None:
        study = None
    position = budget_position(loaded, storage_url or "", study)
    if position is None:
        return None
    return {
        "budget_eur": position.budget_eur,
        "declared_in_study_file": position.declared,
        "spent_eur": position.spent_eur,
        "reserved_eur": position.reserved_eur,
        "remaining_eur": position.remaining_eur,
        "fits": total_p50_eur <= position.remaining_eur,
        "over_by_eur": max(0.0, total_p50_eur - position.remaining_eur),
    }


def require_budget_fits(quote: dict[str, Any], study_file: Path | str) -> None:
    """Raise ``OverBudgetError`` when the quote's P50 for the trials to run exceeds what remains
    of the budget (the check ``sweeper run`` makes unless ``--force``)."""
    from sweeper.budget import OverBudgetError

    budget = quote.get("budget")
    if budget is None or budget["fits"]:
        return
    total = quote["study_total"]
    raise OverBudgetError(
        f"the quote for {quote['n_trials']} trial(s) of study {quote['study']!r} must fit in the "
        f"remaining budget, but its P50 €{total['cost_eur_p50']:.4f} exceeds the remaining "
        f"€{budget['remaining_eur']:.4f} by €{budget['over_by_eur']:.4f} (budget "
        f"€{budget['budget_eur']:.4f}, spent €{budget['spent_eur']:.4f}, reserved "
        f"€{budget['reserved_eur']:.4f}); raise budget_eur in {study_file}, run fewer --trials, "
        f"or pass --force"
    )


def _trial_shape(loaded: LoadedStudy) -> cost_models.ModelShape:
    """The trial model's shape, from its own ``config.json`` (``sweeper.model_config``)."""
    return study_model_shape(loaded.spec.model)


def _model_summary(loaded: LoadedStudy) -> dict[str, Any]:
    """The trial model's shape as the quote used it (what the output names)."""
    shape = _trial_shape(loaded)
    return {
        "path": loaded.spec.model.path,
        "params": _trial_model_params(loaded),
        "layers": shape.layers,
        "hidden": shape.hidden,
        "heads": shape.heads,
        "kv_heads": shape.kv_heads,
        "head_dim": shape.head_dim,
        "intermediate": shape.intermediate,
        "vocab": shape.vocab,
        "tied_embeddings": shape.tied_embeddings,
        "shape_source": shape.source,
    }


def _trial_model_layers(loaded: LoadedStudy) -> int:
    """Decoder layers of the trial model."""
    return _trial_shape(loaded).layers


def _trial_model_params(loaded: LoadedStudy) -> float:
    """Parameters of the trial model: counted from its safetensors headers when the folder holds
    weights (no torch), else the count its shape implies (a folder with only ``config.json``)."""
    import json
    import struct

    path = loaded.spec.model.path
    total = 0
    folder = Path(path).expanduser()
    for f in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for k, v in header.items():
            if k != "__metadata__":
                total += int(np.prod(v["shape"]))
    return float(total) if total else float(_trial_shape(loaded).params)
