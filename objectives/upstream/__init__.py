"""Adapters over the private parts of dependencies that the sweeper cannot do without.

Each module wraps one upstream's internals behind a small public function, so that a change
upstream breaks one file, and its test (``tests/objectives/upstream/``) says which upstream
version changed what. pyproject.toml pins the version ranges these were written against.
"""

from objectives.upstream._changes import UpstreamChangedError
from objectives.upstream.lm_eval import LM_EVAL_TESTED, without_environment_report
from objectives.upstream.mergekit import MERGEKIT_TESTED, release_loaders

__all__ = [
    "LM_EVAL_TESTED",
    "MERGEKIT_TESTED",
    "UpstreamChangedError",
    "release_loaders",
    "without_environment_report",
]
