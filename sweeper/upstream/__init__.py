"""Private APIs of our dependencies, each behind one adapter, for the versions we pin.

Where a dependency has no public API for something we need, the private one is imported here and
nowhere else, its contract is checked by ``tests/sweeper/upstream/`` (which fails naming the
installed version when upstream changes it), and ``pyproject.toml`` pins the range that test
passed on.

* ``_optuna`` -- hypervolume, dominance and non-domination ranks of loss vectors, and recording a
  trial's constraint values (Optuna 4.5 ... 5.1; see ``OPTUNA_SUPPORTED``).
"""

from sweeper.upstream._optuna import (
    OPTUNA_SUPPORTED,
    compute_hypervolume,
    dominates,
    fast_non_domination_rank,
    record_constraints,
)

__all__ = [
    "OPTUNA_SUPPORTED",
    "compute_hypervolume",
    "dominates",
    "fast_non_domination_rank",
    "record_constraints",
]
