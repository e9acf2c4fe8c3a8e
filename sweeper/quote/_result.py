"""A quote as a value: typed sections, and ``to_dict`` for ``sweeper quote --json``.

``Quote.to_dict()`` yields the dictionary the command prints, key for key and in the same order,
so its JSON output is what scripts have always read.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any


class _Section:
    """A frozen dataclass whose ``to_dict`` is its fields in order, nested sections as dicts."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    if is_dataclass(value) and isinstance(value, _Section):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Percentiles(_Section):
    """P10, P50 and P90 of a quantity over the sampled configurations (and its mean, if kept)."""

    p10: float
    p50: float
    p90: float
    mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"p10": self.p10, "p50": self.p50, "p90": self.p90}
        return out | ({"mean": self.mean} if self.mean is not None else {})


@dataclass(frozen=True)
class PerTrialQuote(_Section):
    """One trial: seconds and EUR on the trial hardware, and its full-scale training projection.

    ``trial_seconds``/``cost_eur_trial``: a trial that does all its work (the worst case the
    budget guard reserves); ``*_in_study``: a trial of the simulated study (cache hits, pruning),
    whose mean is the expected cost of a trial."""

    trial_seconds: Percentiles
    cost_eur_trial: Percentiles
    trial_seconds_in_study: Percentiles
    cost_eur_trial_in_study: Percentiles
    cost_eur_train_projected: Percentiles
    gpu_hours_train_projected: Percentiles


@dataclass(frozen=True)
class StudyTotal(_Section):
    """The whole sweep of ``n_trials`` trials, over the simulated studies."""

    cost_eur_p50: float
    cost_eur_p90: float
    hours_p50: float
    hours_p90: float
    includes_baseline_eval: bool
    studies_simulated: int


@dataclass(frozen=True)
class SimulationSummary(_Section):
    """The cache and pruning assumptions behind the whole-sweep figures."""

    #: Distinct LoRA configurations in the sample; ``None``: a LoRA dimension is continuous,
    #: every trial trains a new configuration.
    lora_configs_in_space: int | None
    lora_configs_trained_in_storage: int
    lora_trainings_mean: float
    partners: tuple[str, ...]
    partners_trained_in_storage: tuple[str, ...]
    partner_trainings_mean: float
    recipe_cache_hits_mean: float
    pruned_share_mean: float
    #: The pruning model's source; ``None``: the study does not prune.
    pruning: str | None
    spread_ratios: tuple[float, ...]


@dataclass(frozen=True)
class BaselineEval(_Section):
    """The base-model evaluation (once per study)."""

    seconds: float
    cost_eur: float
    done: bool


@dataclass(frozen=True)
class TargetSummary(_Section):
    """The target instance the full-scale training projection prices."""

    instance: str
    gpu: str
    pricing: str
    eur_per_hour: float
    mfu: float
    params: float
    #: ``own`` (the trial model), ``params`` (a parameter count) or a preset's name.
    model: str


@dataclass(frozen=True)
class ModelSummary(_Section):
    """The trial model's shape as the quote used it."""

    path: str
    params: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool
    shape_source: str


@dataclass(frozen=True)
class BudgetFit(_Section):
    """The budget the run will be held to, what remains of it, and whether the P50 quote fits."""

    budget_eur: float
    declared_in_study_file: bool
    spent_eur: float
    reserved_eur: float
    remaining_eur: float
    fits: bool
    over_by_eur: float


@dataclass(frozen=True)
class Quote(_Section):
    """What a sweep of ``n_trials`` trials of a study will cost before it runs."""

    study: str
    n_trials: int
    samples: int
    trial_hardware: str
    trial_eur_per_hour: float
    #: Where the time model comes from (``calibrated from ...`` or the physics estimate).
    calibration: str
    #: A line when the cached machine probe disagreed with the study's trials (and was cleared).
    machine_probe: str | None
    per_trial_basis: str
    per_trial: PerTrialQuote
    study_total: StudyTotal
    simulation: SimulationSummary
    baseline_eval: BaselineEval
    target: TargetSummary
    model: ModelSummary
    #: ``None``: the study has no budget.
    budget: BudgetFit | None
    assumptions: str
