"""lm-eval's environment report, which ``simple_evaluate`` appends to every result.

It runs ``torch.utils.collect_env`` (about 2.6 s of subprocesses here) and ``git describe``
(which prints "fatal: not a git repository" outside a checkout) on every call, i.e. twice per
trial; the sweeper records its own provenance instead. lm-eval has no switch for it (0.4.13),
so ``without_environment_report`` replaces the two module-level hooks of
``lm_eval.evaluator`` that ``simple_evaluate`` calls, and only those, for the duration.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from objectives.upstream._changes import UpstreamChangedError, installed_version

LM_EVAL_TESTED = ">=0.4.8,<0.5"
"""The lm-eval versions this adapter was written against (pyproject.toml pins the same)."""

#: The ``lm_eval.evaluator`` names replaced, each with what it is replaced by.
_HOOKS: dict[str, Any] = {
    "add_env_info": lambda storage: None,
    "get_git_commit_hash": lambda: None,
}


@contextlib.contextmanager
def without_environment_report() -> Iterator[None]:
    """Within the block, ``simple_evaluate`` skips lm-eval's environment report."""
    evaluator = _evaluator_module()
    saved = {name: getattr(evaluator, name) for name in _HOOKS}
    for name, replacement in _HOOKS.items():
        setattr(evaluator, name, replacement)
    try:
        yield
    finally:
        for name, original in saved.items():
            setattr(evaluator, name, original)


def _evaluator_module() -> Any:
    """``lm_eval.evaluator``, checked to have the hooks this module replaces."""
    import lm_eval.evaluator as evaluator

    missing = [name for name in _HOOKS if not callable(getattr(evaluator, name, None))]
    if missing:
        raise UpstreamChangedError(
            f"lm-eval {installed_version('lm_eval')} changed a private API the sweeper relies "
            f"on (tested with lm-eval{LM_EVAL_TESTED}): lm_eval.evaluator no longer has "
            f"{', '.join(missing)}. Update objectives/upstream/lm_eval.py."
        )
    return evaluator
