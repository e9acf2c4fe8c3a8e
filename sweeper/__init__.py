"""llm-cost-sweeper: cost-aware hyperparameter sweeps for LLM fine-tuning.

Public names are re-exported here; implementations live in the submodules.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("llm-cost-sweeper")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
