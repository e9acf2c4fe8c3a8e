"""One trial of a study: sample a recipe, reject it if it cannot fit, run it, price it, log it."""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna

from sweeper.costing import (
    PricingContext,
    ProjectedServing,
    cost_eur_for_seconds,
    project_serving,
    project_training,
    training_memory_fit,
    trial_hardware_price,
)
from sweeper.hardware_probe import machine_name
from sweeper.metrics import (
    CACHE_HITS,
    COST_EUR_SAVED_BY_CACHE,
    COST_EUR_TRAIN_TRIAL,
    COST_EUR_TRIAL,
    EVAL_SECONDS,
    MERGE_SECONDS,
    MODEL_SIZE_BYTES,
    PEAK_GPU_MEMORY_BYTES,
    PEAK_MEMORY_BYTES,
    QUANTIZE_SECONDS,
    TOKENS_EVALUATED,
    TOKENS_TRAINED,
    TRAIN_LOSS_FINAL,
    TRAIN_MEMORY_GIB_PROJECTED,
    TRAIN_SECONDS,
    TRAINABLE_PARAMS,
    WALL_SECONDS,
    constraint_metric,
    stderr_metric,
)
from sweeper.provenance import provenance_tags
from sweeper.recipe._cache import WorkCache
from sweeper.recipe._constraints import constraint_values, feasible
from sweeper.recipe._pipeline import (
    LoraJob,
    MergeStep,
    ModelLoad,
    Recipe,
    RecipeResult,
    run_recipe,
)
from sweeper.recipe._pruning import MedianRule, intermediate_eval_callback
from sweeper.search import LoraSettings, RecipeSettings, lora_settings, recipe_settings, suggest
from sweeper.study import LoadedStudy, resolve_partner_path, resolve_partner_train
from sweeper.tracking import Tracker
from sweeper.trial_record import (
    ATTR_CACHE,
    ATTR_CONSTRAINTS,
    ATTR_FAIL_REASON,
    ATTR_MACHINE,
    ATTR_METRICS,
    ATTR_MLFLOW_RUN,
    ATTR_PROJECTION,
    ATTR_RUN_PARAMS,
    STUDY_ATTR_BASELINE,
    write_outcome,
)

log = logging.getLogger(__name__)


def partner_settings(partner: Any) -> LoraSettings:
    p = partner.lora
    return lora_settings(
        {
            "lora_r": p.r,
            "lora_alpha_ratio": p.alpha_ratio,
            "learning_rate": p.learning_rate,
            "target_modules": p.target_modules,
            "epochs": p.epochs,
            "lora_dropout": 0.0,
        }
    )


class RecipeObjective:
    """One trial: LoRA -> optional merge -> quantize -> evaluate, each step cached by its inputs."""

    def __init__(
        self,
        loaded: LoadedStudy,
        ctx: PricingContext,
        tracker: Tracker | None,
        parent_run_id: str | None,
        model_path: str,
        cache: WorkCache,
        load: ModelLoad | None = None,
    ) -> None:
        self.loaded = loaded
        self.ctx = ctx
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.model_path = model_path
        self.cache = cache
        self.load = load or ModelLoad()  # device and dtype: decided once by run_sweep
        self.hw = trial_hardware_price(loaded.spec, ctx)
        self.base_tags = provenance_tags(loaded.sha256, loaded.spec.seed, ctx.provenance())
        # Serving depends only on the weight dtype for a given study and catalog: price each once.
        self._serving: dict[str, ProjectedServing] = {}
        #: The running trial's MLflow run while it is open (``_start_run`` to ``_end_run``).
        self._open_run: str | None = None

    # --- the recipe of a trial ----------------------------------------------------------------

    def lora_job(
        self,
        name: str,
        train_file: Path,
        s: LoraSettings,
        *,
        own_data: bool = False,
        train_quantization: str = "none",
    ) -> LoraJob:
        """A LoRA job; ``own_data`` applies the study's ``data.format`` and ``data.fields``."""
        from objectives import LoraTrainConfig
        from objectives.target_modules import TARGET_MODULE_PRESETS

        spec = self.loaded.spec
        config = LoraTrainConfig(
            r=s.r,
            alpha=s.alpha,
            learning_rate=s.learning_rate,
            # a preset is resolved against the model's own module names when it trains
            target_modules=(
                s.target_modules_label
                if s.target_modules_label in TARGET_MODULE_PRESETS
                else s.target_modules
            ),
            max_steps=s.epochs * spec.training.steps_per_epoch,
            batch_size=spec.training.batch_size,
            seq_len=spec.training.seq_len,
            # One seed per study, not per trial: the same configuration trains the same adapter,
            # which is what lets later trials reuse it.
            seed=spec.seed,
            lora_dropout=s.dropout,
            warmup_ratio=spec.training.warmup_ratio,
            grad_accum=spec.training.grad_accum,
            gradient_checkpointing=spec.training.gradient_checkpointing,
        )
        data = spec.data
        return LoraJob(
            name,
            Path(train_file),
            config,
            data_format=data.format if own_data else None,
            data_fields=tuple(sorted(data.fields.items())) if own_data else (),
            quantization=train_quantization,
        )

    def recipe(self, settings: RecipeSettings) -> Recipe:
        spec = self.loaded.spec
        partners: list[LoraJob | Path] = []
        merge = None
        if settings.merges and spec.merge is not None:
            for p in spec.merge.partners:
                if p.train is not None:
                    train = resolve_partner_train(self.loaded, p)
                    partners.append(self.lora_job(p.name, train, partner_settings(p)))
                else:
                    partners.append(resolve_partner_path(self.loaded, p))
            merge = MergeStep(
                method=settings.merge_method,
                weight=float(settings.merge_weight or 0.5),
                density=settings.merge_density,
                dtype=spec.merge.dtype,
                seed=spec.seed,
            )
        return Recipe(
            base_model=self.model_path,
            lora=self.lora_job(
                "lora",
                self.loaded.train_file,
                settings.lora,
                own_data=True,
                train_quantization=settings.train_quantization,
            ),
            partners=tuple(partners),
            merge=merge,
            quantization=settings.quantization,
            tasks=tuple(self.loaded.eval_tasks.values()),
            eval_limit=spec.eval.limit,
            eval_batch_size=spec.eval.batch_size,
            load=self.load,
        )

    # --- one trial ----------------------------------------------------------------------------

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        """One trial. Whatever it raises, wherever, its MLflow run is not left RUNNING: a run
        still open is ended FAIL (KILLED for a pruned trial) with the exception as its reason."""
        self._open_run = None
        try:
            return self._run_trial(trial)
        except BaseException as exc:
            self._end_open_run(trial, exc)
            raise

    def _run_trial(self, trial: optuna.Trial) -> tuple[float, ...]:
        from objectives import get_quant_method

        spec = self.loaded.spec
        started = time.perf_counter()
        settings = recipe_settings(suggest(trial, spec.search_space))
        training, projected = self.projected_metrics(settings)
        serving = (
            self._project_serving(get_quant_method(settings.quantization).serving_dtype)
            if spec.serving is not None
            else None
        )
        trial.set_user_attr(ATTR_MACHINE, machine_name())
        trial.set_user_attr(
            ATTR_PROJECTION,
            {"training": training.as_dict()} | ({"serving": serving.as_dict()} if serving else {}),
        )
        params = self._params(settings, training, serving)
        # `sweeper sync` logs exactly these if MLflow misses this trial.
        trial.set_user_attr(ATTR_RUN_PARAMS, {k: v for k, v in params.items() if v is not None})
        run_id = self._start_run(trial.number, params)
        if run_id is not None:
            trial.set_user_attr(ATTR_MLFLOW_RUN, run_id)

        fit = training_memory_fit(
            spec, settings.lora, self.ctx, target_instance=settings.target_instance
        )
        if not fit.fits:  # rejected before anything is spent
            reason = fit.reason()
            metrics = {
                WALL_SECONDS: time.perf_counter() - started,
                COST_EUR_TRIAL: 0.0,
                TRAIN_MEMORY_GIB_PROJECTED: fit.need_gib_per_gpu,
            }
            write_outcome(trial, metrics=metrics, fail_reason=reason)
            self._end_run(
                run_id,
                "PRUNED",
                metrics,
                {"sweeper.rejected": "memory", "sweeper.fail_reason": reason, "feasible": "false"},
            )
            raise optuna.TrialPruned(reason)

        from objectives import measure_resources, release_memory
        from objectives.device import peak_gpu_memory_bytes, reset_peak_gpu_memory

        recipe = self.recipe(settings)
        reset_peak_gpu_memory(self.load.device)
        try:
            with measure_resources() as usage:
                try:
                    result = run_recipe(recipe, self.cache, trainer_callbacks=self._pruning(trial))
                finally:  # the trial's models are gone: give their memory back
                    release_memory()
        except optuna.TrialPruned as exc:  # stopped early: charged what it spent
            spent = self._spent(started, projected)
            write_outcome(trial, metrics=spent, fail_reason=str(exc))
            self._end_run(run_id, "PRUNED", spent, {"sweeper.pruned": str(exc)[:4000]})
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            failed = self._spent(started, projected)
            write_outcome(trial, metrics=failed, fail_reason=reason)
            self._end_run(
                run_id,
                "FAIL",
                failed,
                {
                    "sweeper.fail_reason": reason[:4000],
                    "sweeper.traceback": traceback.format_exc()[-4000:],
                },
            )
            raise
        wall = time.perf_counter() - started
        metrics = score_metrics(self.loaded.eval_tasks, result.scores)
        metrics.update(self._measured(result, wall))
        metrics[PEAK_MEMORY_BYTES] = float(usage.peak_memory_bytes)
        peak_gpu = peak_gpu_memory_bytes(self.load.device)
        if peak_gpu is not None:
            metrics[PEAK_GPU_MEMORY_BYTES] = float(peak_gpu)
        metrics.update(projected)
        metrics[TRAIN_MEMORY_GIB_PROJECTED] = fit.need_gib_per_gpu
        if serving is not None:
            metrics.update(serving.metrics())
        baseline = (trial.study.user_attrs.get(STUDY_ATTR_BASELINE) or {}).get("metrics", {})
        constraints = constraint_values(
            spec.constraints,
            metrics,
            baseline,
            fits_serving_instance=serving.fits_serving_instance if serving else True,
        )
        cache_tags = {f"sweeper.cache.{s.step}": "hit" if s.hit else "miss" for s in result.steps}
        cache_tags |= {f"sweeper.cache_key.{s.step}": s.key for s in result.steps}
        trial.set_user_attr(ATTR_CACHE, {s.step: s.hit for s in result.steps})
        write_outcome(trial, metrics=metrics)
        tags = dict(cache_tags)
        if spec.constraints:
            trial.set_user_attr(ATTR_CONSTRAINTS, constraints)
            tags["feasible"] = "true" if feasible(constraints) else "false"
            tags["sweeper.violated"] = ",".join(k for k, v in constraints.items() if v > 0)
            metrics_c = {constraint_metric(_slug(k)): v for k, v in constraints.items()}
        else:
            metrics_c = {}
        values = tuple(float(metrics[name]) for name in self.loaded.objective_names)
        not_finite = [
            f"{n}={v}"
            for n, v in zip(self.loaded.objective_names, values, strict=True)
            if not math.isfinite(v)
        ]
        if not_finite:  # Optuna fails such a trial: MLflow must say the same, with the reason
            reason = f"objective value not finite: {', '.join(not_finite)}"
            write_outcome(trial, fail_reason=reason)
            self._end_run(
                run_id, "FAIL", metrics | metrics_c, tags | {"sweeper.fail_reason": reason}
            )
            raise NonFiniteObjectiveError(f"trial {trial.number}: {reason}")
        self._end_run(run_id, "COMPLETE", metrics | metrics_c, tags)
        return values

    def _pruning(self, trial: optuna.Trial) -> Any:
        """Intermediate-eval callbacks for the trial's LoRA training, when the study prunes."""
        spec = self.loaded.spec
        if spec.pruning is None:
            return None
        metric = spec.pruning.metric or next(
            o.name for o in spec.objectives if o.name in spec.eval.tasks
        )
        names = self.loaded.objective_names
        maximize = (
            self.loaded.directions[names.index(metric)] == "maximize" if metric in names else True
        )
        rule = MedianRule(
            metric, maximize, spec.pruning.n_startup_trials, spec.pruning.n_warmup_steps
        )
        return intermediate_eval_callback(
            trial,
            rule,
            task=self.loaded.eval_tasks[metric],
            every_steps=spec.pruning.every_steps,
            limit=spec.pruning.limit,
            batch_size=spec.eval.batch_size,
        )

    def _project_serving(self, weight_dtype: str) -> ProjectedServing:
        if weight_dtype not in self._serving:
            self._serving[weight_dtype] = project_serving(self.loaded.spec, weight_dtype, self.ctx)
        return self._serving[weight_dtype]

    def projected_metrics(self, settings: RecipeSettings) -> tuple[Any, dict[str, float]]:
        """Full-scale training of the recipe: its own LoRA's projection, and the metrics of its
        LoRA plus every LoRA partner it merges."""
        spec = self.loaded.spec
        kw = {
            "target_instance": settings.target_instance,
            "target_pricing": settings.target_pricing,
        }
        own = project_training(spec, settings.lora, self.ctx, **kw)
        out: dict[str, float] = dict(own.metrics())
        if settings.merges and spec.merge is not None:
            for p in spec.merge.partners:
                if p.train is None:
                    continue  # a given model folder: its training is not this study's cost
                part = project_training(spec, partner_settings(p), self.ctx, **kw)
                for k, v in part.metrics().items():
                    out[k] += v
        return own, out

    def _spent(self, started: float, projected: dict[str, float]) -> dict[str, float]:
        """What a trial that stopped early (pruned, failed) is charged: its wall time so far."""
        wall = time.perf_counter() - started
        return {
            WALL_SECONDS: wall,
            COST_EUR_TRIAL: cost_eur_for_seconds(wall, self.hw.eur_per_hour),
            **projected,
        }

    def _measured(self, result: RecipeResult, wall: float) -> dict[str, float]:
        rate = self.hw.eur_per_hour
        return {
            WALL_SECONDS: wall,
            COST_EUR_TRIAL: cost_eur_for_seconds(wall, rate),
            COST_EUR_TRAIN_TRIAL: cost_eur_for_seconds(result.train_seconds, rate),
            COST_EUR_SAVED_BY_CACHE: cost_eur_for_seconds(result.saved_seconds, rate),
            TRAIN_SECONDS: result.train_seconds,
            EVAL_SECONDS: result.eval_seconds,
            MERGE_SECONDS: result.merge_seconds,
            QUANTIZE_SECONDS: result.quantize_seconds,
            CACHE_HITS: float(sum(1 for s in result.steps if s.hit)),
            TOKENS_TRAINED: float(result.tokens_trained),
            TOKENS_EVALUATED: float(result.tokens_evaluated),
            TRAINABLE_PARAMS: float(result.trainable_params),
            MODEL_SIZE_BYTES: float(result.model_size_bytes),
            TRAIN_LOSS_FINAL: float(result.train_loss_final),
        }

    def _params(self, settings: RecipeSettings, projection: Any, serving: Any) -> dict[str, Any]:
        spec = self.loaded.spec
        params = {
            **settings.as_params(),
            "max_steps": settings.lora.epochs * spec.training.steps_per_epoch,
            "batch_size": spec.training.batch_size,
            "seq_len": spec.training.seq_len,
            "grad_accum": spec.training.grad_accum,
            "gradient_checkpointing": spec.training.gradient_checkpointing,
            "model": spec.model.path,
            "model_dtype": self.load.dtype,
            "trust_remote_code": spec.model.trust_remote_code,
            "device": self.load.device,
            "data_format": self.loaded.train_format,
            "trial_hardware": self.hw.name,
            "trial_eur_per_hour": round(self.hw.eur_per_hour, 6),
            "target_instance": projection.target_instance,
            "target_pricing": projection.target_pricing,
            "target_eur_per_hour": round(projection.target_eur_per_hour, 6),
            "target_mfu": projection.mfu,
            "projection_params": projection.target_params,
            "projection_tokens": projection.target_tokens,
        }
        if spec.model.revision is not None:
            params["model_revision"] = spec.model.revision
        if settings.merges and spec.merge is not None:
            params["merge_partners"] = ",".join(p.name for p in spec.merge.partners)
        if serving is not None:
            params |= {
                "serving_instance": serving.serving_instance,
                "serving_pricing": serving.serving_pricing,
                "serving_dtype": serving.weight_dtype,
                "serving_chosen_by": serving.chosen_by,
                "serving_tokens_per_month": spec.serving.tokens_per_month,
            }
        return params

    # --- MLflow, never fatal: results are in the Optuna storage either way ---------------------

    def _start_run(self, number: int, params: dict[str, Any]) -> str | None:
        if self.tracker is None or self.parent_run_id is None:
            return None
        tags = dict(self.base_tags)
        tags["sweeper.seed"] = str(self.loaded.spec.seed)
        try:
            self._open_run = self.tracker.start_trial(self.parent_run_id, number, params, tags)
            return self._open_run
        except Exception as exc:
            log.warning(
                "MLflow is unreachable (%s); trial %d is kept in the study storage only",
                exc,
                number,
            )
            return None

    def _end_run(
        self, run_id: str | None, state: str, metrics: dict[str, float], tags: dict[str, str]
    ) -> None:
        if self.tracker is None or run_id is None:
            return
        if run_id == self._open_run:
            self._open_run = None
        try:
            self.tracker.end_trial(run_id, state, metrics, tags)
        except Exception as exc:
            log.warning("MLflow is unreachable (%s); the trial stays in the study storage", exc)

    def _end_open_run(self, trial: optuna.Trial, exc: BaseException) -> None:
        """End the trial's MLflow run if an exception left it open (never raises)."""
        run_id = self._open_run
        if run_id is None:
            return
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            reason = "interrupted"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        state = "PRUNED" if isinstance(exc, optuna.TrialPruned) else "FAIL"
        try:
            metrics = dict(trial.user_attrs.get(ATTR_METRICS) or {})
            if ATTR_FAIL_REASON not in trial.user_attrs:
                write_outcome(trial, fail_reason=reason)
        except Exception:  # the storage too may be what failed
            metrics = {}
        self._end_run(run_id, state, metrics, {"sweeper.fail_reason": reason[:4000]})


class NonFiniteObjectiveError(ValueError):
    """An objective value of a trial is NaN or infinite: the trial fails (Optuna and MLflow)."""


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in label).strip("_")


def score_metrics(tasks: Mapping[str, Any], scores: dict[str, Any]) -> dict[str, float]:
    """Flatten lm-eval scores: ``quality``, ``quality_stderr`` and ``quality_<sub-metric>``.

    ``tasks`` maps metric names to ``objectives.eval_tasks.EvalTask``s (or bundled task names);
    ``scores`` is what ``objectives.evaluate`` returned for them (keyed by ``EvalTask.key``)."""
    out: dict[str, float] = {}
    for metric, task in tasks.items():
        score = scores[task if isinstance(task, str) else task.key]
        out[metric] = float(score.value)
        stderr = float(score.stderr) if score.stderr is not None else math.nan
        out[stderr_metric(metric)] = stderr
        for sub, value in (score.all_metrics or {}).items():
            if (
                sub != score.metric
                and isinstance(value, (int, float))
                and not sub.endswith("_stderr")
            ):
                out[f"{metric}_{sub}"] = float(value)
    return out
