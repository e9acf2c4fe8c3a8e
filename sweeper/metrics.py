"""Every metric a trial can report, declared once: its unit, its default direction, its meaning.

Study objectives name these metrics; the same names are the Optuna objective names
(``study.set_metric_names``), the MLflow metric keys and the report columns.
Quality metrics are declared by the study itself (the keys of ``eval.tasks``).

``COST_METRICS`` are the measured and projected metrics a study may name as objectives;
``RECORDED_METRICS`` are the other figures a trial records (not objectives); ``PARENT_RUN_METRICS``
are what the sweep writes to its parent MLflow run. Code names a metric by its constant
(``COST_EUR_TRIAL``), never by a string literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class MetricInfo:
    name: str
    unit: str
    direction: Direction
    description: str


#: Metric names (one constant each; the dictionaries below describe them).
COST_EUR_TRIAL = "cost_eur_trial"
COST_EUR_TRAIN_PROJECTED = "cost_eur_train_projected"
GPU_HOURS_TRAIN_PROJECTED = "gpu_hours_train_projected"
TRAIN_FLOPS_PROJECTED = "train_flops_projected"
COST_EUR_SERVING_MONTH = "cost_eur_serving_month"
COST_EUR_PER_MTOK_SERVING = "cost_eur_per_mtok_serving"
SERVING_MEMORY_GIB = "serving_memory_gib"
SERVING_TOKENS_PER_SECOND = "serving_tokens_per_second"
MODEL_SIZE_BYTES = "model_size_bytes"
TRAIN_MEMORY_GIB_PROJECTED = "train_memory_gib_projected"
COST_EUR_SAVED_BY_CACHE = "cost_eur_saved_by_cache"
WALL_SECONDS = "wall_seconds"
TRAIN_SECONDS = "train_seconds"
EVAL_SECONDS = "eval_seconds"
PEAK_MEMORY_BYTES = "peak_memory_bytes"
PEAK_GPU_MEMORY_BYTES = "peak_gpu_memory_bytes"
TOKENS_TRAINED = "tokens_trained"
TRAINABLE_PARAMS = "trainable_params"
COST_EUR_TRAIN_TRIAL = "cost_eur_train_trial"
MERGE_SECONDS = "merge_seconds"
QUANTIZE_SECONDS = "quantize_seconds"
CACHE_HITS = "cache_hits"
TOKENS_EVALUATED = "tokens_evaluated"
TRAIN_LOSS_FINAL = "train_loss_final"
SERVING_REPLICAS = "serving_replicas"
SPENT_EUR_TOTAL = "spent_eur_total"
BUDGET_EUR = "budget_eur"
BUDGET_REMAINING_EUR = "budget_remaining_eur"
BASELINE_COST_EUR = "baseline_cost_eur"

COST_METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo(
            COST_EUR_TRIAL,
            "EUR",
            "minimize",
            "What this trial's own compute cost on the hardware it ran on (wall time x EUR/hour).",
        ),
        MetricInfo(
            COST_EUR_TRAIN_PROJECTED,
            "EUR",
            "minimize",
            "Fine-tuning this configuration at full scale (study's projection) on the target "
            "instance.",
        ),
        MetricInfo(
            GPU_HOURS_TRAIN_PROJECTED,
            "GPU-hours",
            "minimize",
            "GPU-hours of the full-scale fine-tune on the target instance's GPU.",
        ),
        MetricInfo(
            TRAIN_FLOPS_PROJECTED,
            "FLOP",
            "minimize",
            "Training FLOPs of the full-scale fine-tune (LoRA ~ 4*N*D + adapter terms).",
        ),
        MetricInfo(
            COST_EUR_SERVING_MONTH,
            "EUR/month",
            "minimize",
            "Serving the full-scale model at this quantization level at the study's traffic "
            "(always-on replicas on the serving instance).",
        ),
        MetricInfo(
            COST_EUR_PER_MTOK_SERVING,
            "EUR/Mtoken",
            "minimize",
            "EUR per million generated tokens at full load on the serving instance.",
        ),
        MetricInfo(
            SERVING_MEMORY_GIB,
            "GiB",
            "minimize",
            "GPU memory to serve the full-scale model: weights at the quantization level + KV "
            "cache.",
        ),
        MetricInfo(
            SERVING_TOKENS_PER_SECOND,
            "tokens/s",
            "maximize",
            "Decode throughput bound of one serving replica (memory-bandwidth bound x MBU).",
        ),
        MetricInfo(
            MODEL_SIZE_BYTES,
            "bytes",
            "minimize",
            "Measured size of the trial model's weights at its quantization level.",
        ),
        MetricInfo(
            TRAIN_MEMORY_GIB_PROJECTED,
            "GiB",
            "minimize",
            "GPU memory per GPU of the full-scale fine-tune on the target instance.",
        ),
        MetricInfo(
            COST_EUR_SAVED_BY_CACHE,
            "EUR",
            "maximize",
            "What the cached work this trial reused cost when it was first done (not charged "
            "again).",
        ),
        MetricInfo(WALL_SECONDS, "s", "minimize", "Wall time of the whole trial."),
        MetricInfo(TRAIN_SECONDS, "s", "minimize", "Wall time of LoRA training."),
        MetricInfo(EVAL_SECONDS, "s", "minimize", "Wall time of lm-eval evaluation."),
        MetricInfo(PEAK_MEMORY_BYTES, "bytes", "minimize", "Peak process memory during the trial."),
        MetricInfo(
            PEAK_GPU_MEMORY_BYTES,
            "bytes",
            "minimize",
            "Peak CUDA memory allocated during the trial (torch.cuda.max_memory_allocated, reset "
            "per trial); only on a GPU.",
        ),
        MetricInfo(
            TOKENS_TRAINED, "tokens", "minimize", "Non-padding tokens processed in training."
        ),
        MetricInfo(
            TRAINABLE_PARAMS, "params", "minimize", "LoRA adapter parameters on the trial model."
        ),
    ]
}


#: Metrics that need the study's ``serving`` section.
SERVING_METRICS: frozenset[str] = frozenset(
    {
        COST_EUR_SERVING_MONTH,
        COST_EUR_PER_MTOK_SERVING,
        SERVING_MEMORY_GIB,
        SERVING_TOKENS_PER_SECOND,
    }
)


#: Figures a trial records beside ``COST_METRICS`` (trial user attribute ``metrics`` and its MLflow
#: run); not objectives. Names built from a study's own names are described by functions below.
RECORDED_METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo(
            COST_EUR_TRAIN_TRIAL,
            "EUR",
            "minimize",
            "What this trial's LoRA training cost on the trial hardware (part of cost_eur_trial).",
        ),
        MetricInfo(MERGE_SECONDS, "s", "minimize", "Wall time of the merge (0: not merged)."),
        MetricInfo(QUANTIZE_SECONDS, "s", "minimize", "Wall time of the quantization."),
        MetricInfo(CACHE_HITS, "steps", "maximize", "Recipe steps reused from the work cache."),
        MetricInfo(TOKENS_EVALUATED, "tokens", "minimize", "Tokens processed in evaluation."),
        MetricInfo(TRAIN_LOSS_FINAL, "loss", "minimize", "Training loss at the last step."),
        MetricInfo(
            SERVING_REPLICAS,
            "replicas",
            "minimize",
            "Serving replicas needed for the study's traffic on the serving instance.",
        ),
    ]
}

#: What a sweep writes to its parent MLflow run (per trial, and in the study's summary).
PARENT_RUN_METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo(
            SPENT_EUR_TOTAL,
            "EUR",
            "minimize",
            "EUR spent by every recorded trial of the study plus its base-model evaluation.",
        ),
        MetricInfo(BUDGET_EUR, "EUR", "minimize", "The study's budget (budget_eur)."),
        MetricInfo(
            BUDGET_REMAINING_EUR,
            "EUR",
            "maximize",
            "What remains of the budget: budget - spent - reserved by running trials.",
        ),
        MetricInfo(
            BASELINE_COST_EUR,
            "EUR",
            "minimize",
            "What the base-model evaluation cost on the trial hardware.",
        ),
    ]
}


def constraint_metric(slug: str) -> str:
    """A constraint's value in a trial's MLflow run (<= 0: satisfied)."""
    return f"constraint_{slug}"


def stderr_metric(name: str) -> str:
    """The standard error of quality metric ``name``."""
    return f"{name}_stderr"


def baseline_metric(name: str) -> str:
    """The base model's value of quality metric ``name`` (parent run)."""
    return f"baseline_{name}"


def trials_in_state_metric(state: str) -> str:
    """How many trials of the study are in Optuna state ``state`` (parent run)."""
    return f"trials_{state.lower()}"


def best_metric(name: str) -> str:
    """The best value of objective ``name`` over the completed trials (parent run)."""
    return f"best_{name}"


def quality_metric(name: str) -> MetricInfo:
    """A quality metric named by the study (a key of ``eval.tasks``): higher is better, unit
    'score'."""
    return MetricInfo(
        name, "score (0-1)", "maximize", f"lm-eval headline metric of the '{name}' task."
    )
