"""Samplers: the ones a study file can name, and ours beside Optuna's.

* ``SAMPLERS`` (``_registry``) -- every sampler a study file can name, one public module each
  (``tpe``, ``random``, ``nsga2``, ``gp``, ``grid``, ``cost_aware``), with the keyword arguments
  it accepts (``SamplerOptions``); ``make_sampler`` (``_make``) builds the study's.
* ``_cost_aware`` -- ``CostAwareSampler``: each trial runs the candidate with the most expected
  hypervolume gain per euro, the euros coming from a cost function evaluated before the trial.
* ``_recipe_cost`` -- ``recipe_trial_cost_eur`` (exported by ``cost_aware``): that cost function
  for a recipe study, from the quote's time model and the work the study has already cached.

Importing this package imports no study code: the study schema reads ``SAMPLERS``.
"""

from sweeper.samplers._cost_aware import CostAwareSampler, TrialCostEur
from sweeper.samplers._make import make_sampler
from sweeper.samplers._registry import SAMPLERS, SamplerKind, SamplerOptions

__all__ = [
    "SAMPLERS",
    "CostAwareSampler",
    "SamplerKind",
    "SamplerOptions",
    "TrialCostEur",
    "make_sampler",
]
