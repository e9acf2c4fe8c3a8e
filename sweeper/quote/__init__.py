"""``sweeper quote``: what a sweep will cost before it runs, from the search space and cost model.

* ``_workload`` -- what a trial of the study has to do (tokens, steps, evaluation items, partners).
* ``_work_identity`` -- what identifies cached work (a trained adapter, an evaluation).
* ``_trial_model`` -- the trial model's shape and parameters.
* ``_time_model`` -- seconds a trial takes: the model, its physics estimate, one-run calibration.
* ``_calibration`` -- the time model fitted on the study's completed trials.
* ``_probe_check`` -- whether this machine's cached probe agrees with the study's trials.
* ``_done`` -- the work the study's storage records as done (cached).
* ``_pruning`` -- how often a trial is pruned and how far it trains.
* ``_sampling`` -- the configurations a quote prices (a seeded sample of the search space).
* ``_simulation`` -- Monte Carlo over simulated studies, replaying the cache and pruning.
* ``_result`` -- the quote as a typed value (``Quote``; ``to_dict`` for ``--json``).
* ``_quote`` -- ``quote_study``, and the budget check ``sweeper run`` makes.
* ``_reservation`` -- what a trial reserves from the budget (the budget guard's estimator).
"""

from sweeper.quote._calibration import (
    CALIBRATED_ON_TRIALS,
    CalibrationRow,
    calibrated_time_model,
    calibration_rows,
)
from sweeper.quote._done import DoneWork, done_in_storage
from sweeper.quote._probe_check import check_probe_against_trials
from sweeper.quote._pruning import (
    MIN_PRUNED_TRIALS,
    MIN_PRUNING_TRIALS,
    PRUNED_SHARE_PRIOR,
    PruningModel,
    pruning_checkpoints,
    pruning_model,
)
from sweeper.quote._quote import quote_study, require_budget_fits
from sweeper.quote._reservation import (
    BASELINE_RESERVE_MARGIN,
    RESERVE_PERCENTILE,
    reservation_estimates,
)
from sweeper.quote._result import (
    BaselineEval,
    BudgetFit,
    ModelSummary,
    Percentiles,
    PerTrialQuote,
    Quote,
    SimulationSummary,
    StudyTotal,
    TargetSummary,
)
from sweeper.quote._sampling import sampled_configs
from sweeper.quote._simulation import (
    MAX_SIMULATED_TRIALS,
    SIMULATED_STUDIES,
    SimulatedStudies,
    TrialParts,
    simulate,
)
from sweeper.quote._time_model import (
    COMPUTE_FACTOR_RANGE,
    CPU_TRAIN_EFFICIENCY,
    MERGE_SECONDS_PRIOR,
    QUANTIZE_SECONDS_PRIOR,
    TRIAL_OVERHEAD_S,
    TrialTimeModel,
    calibrate_time_model,
    compute_factors,
    physics_time_model,
    with_compute_factors,
)
from sweeper.quote._trial_model import (
    model_summary,
    trial_model_layers,
    trial_model_params,
    trial_model_shape,
)
from sweeper.quote._work_identity import LORA_DIMENSIONS, continuous_dimensions, lora_id, recipe_id
from sweeper.quote._workload import (
    eval_items,
    intermediate_items,
    max_steps,
    pruning_task,
    study_partners,
    train_tokens,
    trial_recipe,
)

__all__ = [
    "BASELINE_RESERVE_MARGIN",
    "CALIBRATED_ON_TRIALS",
    "COMPUTE_FACTOR_RANGE",
    "CPU_TRAIN_EFFICIENCY",
    "LORA_DIMENSIONS",
    "MAX_SIMULATED_TRIALS",
    "MERGE_SECONDS_PRIOR",
    "MIN_PRUNED_TRIALS",
    "MIN_PRUNING_TRIALS",
    "PRUNED_SHARE_PRIOR",
    "QUANTIZE_SECONDS_PRIOR",
    "RESERVE_PERCENTILE",
    "SIMULATED_STUDIES",
    "TRIAL_OVERHEAD_S",
    "BaselineEval",
    "BudgetFit",
    "CalibrationRow",
    "DoneWork",
    "ModelSummary",
    "PerTrialQuote",
    "Percentiles",
    "PruningModel",
    "Quote",
    "SimulatedStudies",
    "SimulationSummary",
    "StudyTotal",
    "TargetSummary",
    "TrialParts",
    "TrialTimeModel",
    "calibrate_time_model",
    "calibrated_time_model",
    "calibration_rows",
    "check_probe_against_trials",
    "compute_factors",
    "continuous_dimensions",
    "done_in_storage",
    "eval_items",
    "intermediate_items",
    "lora_id",
    "max_steps",
    "model_summary",
    "physics_time_model",
    "pruning_checkpoints",
    "pruning_model",
    "pruning_task",
    "quote_study",
    "recipe_id",
    "require_budget_fits",
    "reservation_estimates",
    "sampled_configs",
    "simulate",
    "study_partners",
    "train_tokens",
    "trial_model_layers",
    "trial_model_params",
    "trial_model_shape",
    "trial_recipe",
    "with_compute_factors",
]
