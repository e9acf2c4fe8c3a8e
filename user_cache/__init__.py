"""Where the sweeper keeps files between runs: the one lookup of its cache folders.

Two folders, each overridable by an environment variable, with ``~`` expanded the same way
everywhere (a shell leaves a quoted ``"~/x"`` unexpanded; so does a ``.env`` file):

* the cache root, ``$SWEEPER_CACHE_DIR`` else ``~/.cache/llm-cost-sweeper``: the converted
  bundled model, refreshed price catalogs and FX files, the hardware probe's measurements;
* the work cache, ``$SWEEPER_WORK_CACHE`` else ``./.sweeper-cache``: trained adapters and
  evaluations, keyed by what determines them (``sweeper.recipe.WorkCache``).

An empty variable counts as unset. Like ``user_errors``, this package imports nothing of the
three packages of this distribution, so any of them can use it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_DIR_ENV", "WORK_CACHE_ENV", "cache_dir", "work_cache_dir"]

CACHE_DIR_ENV = "SWEEPER_CACHE_DIR"
"""Environment variable that overrides the cache root (default ``~/.cache/llm-cost-sweeper``)."""

WORK_CACHE_ENV = "SWEEPER_WORK_CACHE"
"""Environment variable that overrides the work cache (default ``./.sweeper-cache``)."""


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache root: ``override``, else ``$SWEEPER_CACHE_DIR``, else
    ``~/.cache/llm-cost-sweeper``; ``~`` expanded."""
    if override is not None:
        return _expanded(override)
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return _expanded(configured)
    return Path.home() / ".cache" / "llm-cost-sweeper"


def work_cache_dir() -> Path:
    """The work cache: ``$SWEEPER_WORK_CACHE``, else ``.sweeper-cache`` in the working
    directory; ``~`` expanded."""
    configured = os.environ.get(WORK_CACHE_ENV)
    if configured:
        return _expanded(configured)
    return Path.cwd() / ".sweeper-cache"


def _expanded(path: str | Path) -> Path:
    """``~`` and ``~user`` expanded; a ``~user`` with no such user stays as written."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)
