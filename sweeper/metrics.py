"""Every metric a trial can report, declared once: its unit, its default direction, its meaning.

Study objectives name these metrics; the same names are the Optuna objective names
(``study.set_metric_names``), the MLflow metric keys and the report columns.
Quality metrics are declared by the study itself (the keys of ``eval.tasks``).
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


COST_METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in [
        MetricInfo(
            "cost_eur_trial",
            "EUR",
            "minimize",
            "What this trial's own compute cost on the hardware it ran on (wall time x EUR/hour).",
        ),
        MetricInfo(
            "cost_eur_train_projected",
            "EUR",
            "minimize",
            "Fine-tuning this configuration at full scale (study's projection) on the target "
            "instance.",
        ),
        MetricInfo(
            "gpu_hours_train_projected",
            "GPU-hours",
            "minimize",
            "GPU-hours of the full-scale fine-tune on the target instance's GPU.",
        ),
        MetricInfo(
            "train_flops_projected",
            "FLOP",
            "minimize",
            "Training FLOPs of the full-scale fine-tune (LoRA ~ 4*N*D + adapter terms).",
        ),
        MetricInfo(
            "cost_eur_serving_month",
            "EUR/month",
            "minimize",
            "Serving the full-scale model at this quantization level at the study's traffic "
            "(always-on replicas on the serving instance).",
        ),
        MetricInfo(
            "cost_eur_per_mtok_serving",
            "EUR/Mtoken",
            "minimize",
            "EUR per million generated tokens at full load on the serving instance.",
        ),
        MetricInfo(
            "serving_memory_gib",
            "GiB",
            "minimize",
            "GPU memory to serve the full-scale model: weights at the quantization level + KV "
            "cache.",
        ),
        MetricInfo(
            "serving_tokens_per_second",
            "tokens/s",
            "maximize",
            "Decode throughput bound of one serving replica (memory-bandwidth bound x MBU).",
        ),
        MetricInfo(
            "model_size_bytes",
            "bytes",
            "minimize",
            "Measured size of the trial model's weights at its quantization level.",
        ),
        MetricInfo(
            "train_memory_gib_projected",
            "GiB",
            "minimize",
            "GPU memory per GPU of the full-scale fine-tune on the target instance.",
        ),
        MetricInfo(
            "cost_eur_saved_by_cache",
            "EUR",
            "maximize",
            "What the cached work this trial reused cost when it was first done (not charged "
            "again).",
        ),
        MetricInfo("wall_seconds", "s", "minimize", "Wall time of the whole trial."),
        MetricInfo("train_seconds", "s", "minimize", "Wall time of LoRA training."),
        MetricInfo("eval_seconds", "s", "minimize", "Wall time of lm-eval evaluation."),
        MetricInfo(
            "peak_memory_bytes", "bytes", "minimize", "Peak process memory during the trial."
        ),
        MetricInfo(
            "peak_gpu_memory_bytes",
            "bytes",
            "minimize",
            "Peak CUDA memory allocated during the trial (torch.cuda.max_memory_allocated, reset "
            "per trial); only on a GPU.",
        ),
        MetricInfo(
            "tokens_trained", "tokens", "minimize", "Non-padding tokens processed in training."
        ),
        MetricInfo(
            "trainable_params", "params", "minimize", "LoRA adapter parameters on the trial model."
        ),
    ]
}


#: Metrics that need the study's ``serving`` section.
SERVING_METRICS: frozenset[str] = frozenset(
    {
        "cost_eur_serving_month",
        "cost_eur_per_mtok_serving",
        "serving_memory_gib",
        "serving_tokens_per_second",
    }
)


def quality_metric(name: str) -> MetricInfo:
    """A quality metric named by the study (a key of ``eval.tasks``): higher is better, unit
    'score'."""
    return MetricInfo(
        name, "score (0-1)", "maximize", f"lm-eval headline metric of the '{name}' task."
    )
