"""What a trial and the base-model evaluation reserve from the budget: the quote's estimates.

The budget guard (``sweeper.budget``) does not quote: the runner hands it this estimator.
"""

from __future__ import annotations

import optuna

from sweeper.budget import ReservationEstimates
from sweeper.quote._calibration import CALIBRATED_ON_TRIALS
from sweeper.quote._quote import quote_study
from sweeper.study import LoadedStudy

#: Percentile of the per-trial cost over the search space that a trial reserves.
RESERVE_PERCENTILE = "p90"
#: The base-model evaluation has a single configuration, hence no spread to take a percentile of:
#: it reserves the quote's estimate times this margin.
BASELINE_RESERVE_MARGIN = 1.5


def reservation_estimates(loaded: LoadedStudy, study: optuna.Study) -> ReservationEstimates:
    """Quote the study as it is now (calibrated on its completed trials when it has any)."""
    q = quote_study(loaded, n_trials=1, samples=100, study=study, projections=False)
    return ReservationEstimates(
        trial_eur=getattr(q.per_trial.cost_eur_trial, RESERVE_PERCENTILE),
        trial_seconds=getattr(q.per_trial.trial_seconds, RESERVE_PERCENTILE),
        baseline_eur=q.baseline_eval.cost_eur * BASELINE_RESERVE_MARGIN,
        source=q.calibration,
        calibrated=q.calibration.startswith(CALIBRATED_ON_TRIALS),
    )
