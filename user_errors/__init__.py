"""The root of every error a user can fix, shared by the three packages of this distribution.

``sweeper``, ``objectives`` and ``cost_models`` each keep their own exception tree
(``SweeperError``, ``ObjectiveError``, ``CostModelError``); each tree's root subclasses
``UserError``, so the ``sweeper`` command catches this one class at its edge and prints any of
them as one line with exit code 2.

It is a package of its own, not a module of one of the three, because ``objectives`` and
``cost_models`` are independent of each other and of ``sweeper`` (the cost model is usable on its
own): a root inside any of them would make the other two import it. This package imports nothing.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """An error the user can fix (bad input, a missing file, an unknown name). Its message is one
    line that states the rule, then the values that broke it."""
