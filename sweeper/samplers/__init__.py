"""Samplers of our own, beside Optuna's.

* ``_cost_aware`` -- ``CostAwareSampler``: each trial runs the candidate with the most expected
  hypervolume gain per euro, the euros coming from a cost function evaluated before the trial.
* ``_recipe_cost`` -- ``recipe_trial_cost_eur``: that cost function for a recipe study, from the
  quote's time model and the work the study has already cached.
"""

from sweeper.samplers._cost_aware import CostAwareSampler, TrialCostEur
from sweeper.samplers._recipe_cost import recipe_trial_cost_eur

__all__ = ["CostAwareSampler", "TrialCostEur", "recipe_trial_cost_eur"]
