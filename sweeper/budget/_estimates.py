"""What a trial and the base-model evaluation reserve: the estimates the budget guard is given.

The guard does not estimate: the runner (the composition root) hands it an ``Estimator``, the
quote's ``sweeper.quote.reservation_estimates``, so this package imports neither the quote nor the
study it prices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna

if TYPE_CHECKING:  # typing only: the study schema imports this package (MAX_AMOUNT_EUR)
    from sweeper.study import LoadedStudy


@dataclass(frozen=True)
class ReservationEstimates:
    """What one trial and the base-model evaluation reserve, from the quote of the study."""

    trial_eur: float
    trial_seconds: float
    baseline_eur: float
    source: str
    #: Whether the time model is calibrated on this study's completed trials. Only then does a
    #: trial that overruns its reservation get stopped: a physics estimate may be off by more
    #: than the overrun factor, and stopping every trial would keep the study from calibrating.
    calibrated: bool = False


#: What the guard asks for the current estimates (the quote, injected by the runner).
Estimator = Callable[["LoadedStudy", optuna.Study], ReservationEstimates]
