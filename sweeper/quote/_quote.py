"""``sweeper quote``: what a sweep will cost before it runs, from the search space and cost model.

Per-trial time on the trial hardware comes from the study's own completed trials when there are
any (calibrated, ``_calibration``), else from this machine's measured matmul speed and memory
bandwidth (physics estimate, ``_time_model``). Full-scale training euros come from the cost model
exactly as for a real trial.

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
cache and pruning (``_simulation``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna

import cost_models
from sweeper.budget import OverBudgetError, budget_position
from sweeper.costing import (
    PricingContext,
    cost_eur_for_seconds,
    project_training,
    trial_hardware_price,
)
from sweeper.quote._calibration import calibrated_time_model
from sweeper.quote._done import done_in_storage
from sweeper.quote._probe_check import check_probe_against_trials
from sweeper.quote._pruning import pruning_checkpoints, pruning_model
from sweeper.quote._result import (
    BaselineEval,
    BudgetFit,
    Percentiles,
    PerTrialQuote,
    Quote,
    SimulationSummary,
    StudyTotal,
    TargetSummary,
)
from sweeper.quote._sampling import sampled_configs
from sweeper.quote._simulation import TrialParts, simulate
from sweeper.quote._time_model import physics_time_model
from sweeper.quote._trial_model import model_summary, trial_model_params, trial_model_shape
from sweeper.quote._work_identity import LORA_DIMENSIONS, continuous_dimensions, lora_id
from sweeper.quote._workload import max_steps, study_partners, train_tokens
from sweeper.samplers import SAMPLERS
from sweeper.search import LoraSettings, RecipeSettings
from sweeper.storage import open_storage, storage_exists
from sweeper.study import LoadedStudy
from sweeper.trial_record import STUDY_ATTR_BASELINE


def quote_study(
    loaded: LoadedStudy,
    *,
    n_trials: int,
    samples: int = 200,
    storage_url: str | None = None,
    seed: int = 0,
    study: optuna.Study | None = None,
    projections: bool = True,
) -> Quote:
    """Sample the search space, price every sample, and summarise per trial and for ``n_trials``.

    ``study``: the study already open (the runner's), instead of loading it from ``storage_url``.
    ``projections=False`` skips the full-scale training projections (NaN in the result): the
    budget guard's re-quotes need only the trials' own euros and seconds.
    """
    spec = loaded.spec
    trial_model_shape(loaded)  # a model config that cannot be read fails here, before any probe
    ctx = PricingContext.load()
    hw = trial_hardware_price(spec, ctx)
    configs = sampled_configs(loaded, samples, seed)

    time_model = baseline_done = probe_note = None
    if study is not None:  # the runner's own re-quotes: no probe check mid-sweep
        time_model = calibrated_time_model(loaded, study)
        baseline_done = STUDY_ATTR_BASELINE in study.user_attrs
    elif storage_url is not None and storage_exists(storage_url):
        try:
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
            trial_model_params(loaded),
            float(
                cost_models.lora_adapter_params(
                    trial_model_shape(loaded), typical.r, typical.target_modules
                )
            ),
        )
    done = done_in_storage(loaded, study)
    pruning = pruning_model(loaded, study)
    partners = study_partners(loaded)
    to_train = [(name, s) for name, s in partners if name not in done.partners]
    tm = time_model
    partner_train_s = sum(tm.train_run_seconds(train_tokens(loaded, s)) for _, s in to_train)

    # Each sampled configuration, in parts: the simulation adds up the parts a trial pays.
    parts = []
    rows = []
    for r in configs:
        tokens = train_tokens(loaded, r.lora)
        n_steps = max_steps(loaded, r.lora)
        n_checks, prunable = pruning_checkpoints(loaded, n_steps) if pruning else (0, [])
        train_s = tm.train_run_seconds(tokens) + n_checks * tm.intermediate_eval_seconds
        if pruning is not None and prunable:
            if pruning.pruned_training_share is None:  # the prior: equally likely at each check
                frac = float(np.mean(prunable)) / n_steps
                evals = float(np.mean(prunable)) / spec.pruning.every_steps
            else:
                frac = pruning.pruned_training_share
                evals = max(1.0, np.floor(frac * n_steps / spec.pruning.every_steps))
            pruned_s = tm.train_run_seconds(tokens * frac) + evals * tm.intermediate_eval_seconds
        else:
            pruned_s = None  # never pruned (no pruning, or no checkpoint after warm-up)
        finish_s = tm.seconds(merges=r.merges, quantization=r.quantization) - tm.overhead_seconds
        partner_s = partner_train_s if r.merges else 0.0
        worst = tm.overhead_seconds + train_s + partner_s + finish_s
        parts.append(TrialParts(train_s, pruned_s, partner_s, finish_s))
        proj = _projection(loaded, r, partners, ctx) if projections else (math.nan, math.nan)
        rows.append((worst, cost_eur_for_seconds(worst, hw.eur_per_hour), *proj))
    arr = np.array(rows)

    # Measured / predicted seconds of the calibration trials, centred on their median (the model
    # is fitted on medians): each estimate is multiplied by a draw of it. A trial that ran 3x its
    # prediction (the first training in a fresh process: imports, warm-up) widens P90.
    spread = np.array(tm.spread or (1.0,))
    spread = spread / np.median(spread)
    rng = np.random.default_rng(seed)
    sim = simulate(
        n_trials,
        configs,
        parts,
        done,
        pruning,
        tm.overhead_seconds,
        spread,
        rng,
        grid=SAMPLERS.get(spec.sampler.name).exhaustive_grid,
        continuous=continuous_dimensions(loaded),
    )
    totals_s = sim.trial_seconds.sum(axis=1)
    base_s = tm.eval_seconds + tm.overhead_seconds
    if baseline_done is not True:  # the base model is evaluated once per study
        totals_s = totals_s + base_s
    totals_eur = cost_eur_for_seconds(1.0, hw.eur_per_hour) * totals_s
    worst_s = (arr[:, 0][:, None] * spread[None, :]).ravel()
    in_study_s = sim.trial_seconds.ravel()

    def pct(values: np.ndarray, mean: bool = False) -> Percentiles:
        p10, p50, p90 = (float(np.percentile(values, q)) for q in (10, 50, 90))
        return Percentiles(p10, p50, p90, float(np.mean(values)) if mean else None)

    def eur(seconds: np.ndarray) -> np.ndarray:
        return cost_eur_for_seconds(1.0, hw.eur_per_hour) * seconds

    proj0 = project_training(spec, configs[0].lora, ctx)
    total_p50_eur = float(np.percentile(totals_eur, 50))
    n_sims = sim.trial_seconds.shape[0]
    return Quote(
        study=loaded.name,
        n_trials=n_trials,
        samples=samples,
        trial_hardware=hw.name,
        trial_eur_per_hour=hw.eur_per_hour,
        calibration=tm.source,
        machine_probe=probe_note,
        per_trial_basis=(
            "trial_seconds and cost_eur_trial: a trial that does all its work (trains its LoRA "
            + ("and the merge partners not trained yet, " if to_train else "")
            + "evaluates; not pruned), the worst case the budget guard reserves; *_in_study: "
            "a trial of the simulated study (cache hits, pruning), mean = expected cost"
        ),
        per_trial=PerTrialQuote(
            trial_seconds=pct(worst_s),
            cost_eur_trial=pct(eur(worst_s)),
            trial_seconds_in_study=pct(in_study_s, mean=True),
            cost_eur_trial_in_study=pct(eur(in_study_s), mean=True),
            cost_eur_train_projected=pct(arr[:, 2]),
            gpu_hours_train_projected=pct(arr[:, 3]),
        ),
        study_total=StudyTotal(
            cost_eur_p50=total_p50_eur,
            cost_eur_p90=float(np.percentile(totals_eur, 90)),
            hours_p50=float(np.percentile(totals_s, 50)) / 3600,
            hours_p90=float(np.percentile(totals_s, 90)) / 3600,
            includes_baseline_eval=baseline_done is not True,
            studies_simulated=n_sims,
        ),
        simulation=SimulationSummary(
            lora_configs_in_space=(
                None
                if continuous_dimensions(loaded) & set(LORA_DIMENSIONS)
                else len({lora_id(r.lora) for r in configs})
            ),
            lora_configs_trained_in_storage=len(done.loras),
            lora_trainings_mean=float(sim.lora_trainings.mean()),
            partners=tuple(name for name, _ in partners),
            partners_trained_in_storage=tuple(sorted(done.partners)),
            partner_trainings_mean=float(sim.partner_trainings.mean()),
            recipe_cache_hits_mean=float(sim.cache_hits.mean()),
            pruned_share_mean=float(sim.pruned.mean()) / max(n_trials, 1),
            pruning=None if pruning is None else pruning.source,
            spread_ratios=tuple(float(x) for x in tm.spread),
        ),
        baseline_eval=BaselineEval(
            seconds=base_s,
            cost_eur=cost_eur_for_seconds(base_s, hw.eur_per_hour),
            done=baseline_done is True,
        ),
        target=TargetSummary(
            instance=proj0.target_instance,
            gpu=proj0.target_gpu,
            pricing=proj0.target_pricing,
            eur_per_hour=proj0.target_eur_per_hour,
            mfu=proj0.mfu,
            params=proj0.target_params,
            model=spec.projection.model or ("params" if spec.projection.params else "own"),
        ),
        model=model_summary(loaded),
        budget=_budget_fit(loaded, storage_url, study, total_p50_eur),
        assumptions=f"target {proj0.target_instance} {proj0.target_pricing} at "
        f"€{proj0.target_eur_per_hour:.3f}/h, MFU {proj0.mfu:.2f}; {ctx.fx.describe()}; "
        f"catalog v{ctx.catalog.version}",
    )


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


def _budget_fit(
    loaded: LoadedStudy, storage_url: str | None, study: optuna.Study | None, total_p50_eur: float
) -> BudgetFit | None:
    """The budget the run will be held to, what remains of it, and whether the P50 quote fits."""
    if storage_url is None:
        study = None
    position = budget_position(loaded, storage_url or "", study)
    if position is None:
        return None
    return BudgetFit(
        budget_eur=position.budget_eur,
        declared_in_study_file=position.declared,
        spent_eur=position.spent_eur,
        reserved_eur=position.reserved_eur,
        remaining_eur=position.remaining_eur,
        fits=total_p50_eur <= position.remaining_eur,
        over_by_eur=max(0.0, total_p50_eur - position.remaining_eur),
    )


def require_budget_fits(quote: Quote, study_file: Path | str) -> None:
    """Raise ``OverBudgetError`` when the quote's P50 for the trials to run exceeds what remains
    of the budget (the check ``sweeper run`` makes unless ``--force``)."""
    budget = quote.budget
    if budget is None or budget.fits:
        return
    total = quote.study_total
    raise OverBudgetError(
        f"the quote for {quote.n_trials} trial(s) of study {quote.study!r} must fit in the "
        f"remaining budget, but its P50 €{total.cost_eur_p50:.4f} exceeds the remaining "
        f"€{budget.remaining_eur:.4f} by €{budget.over_by_eur:.4f} (budget "
        f"€{budget.budget_eur:.4f}, spent €{budget.spent_eur:.4f}, reserved "
        f"€{budget.reserved_eur:.4f}); raise budget_eur in {study_file}, run fewer --trials, "
        f"or pass --force"
    )
