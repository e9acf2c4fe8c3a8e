"""The scorers by name: every public module of this folder registers its ``Scorer`` class.

A new scorer is one module here (``@register_scorer(order=...)`` on its class) plus its test;
the study schema, the error messages and ``make_scorer`` read ``SCORERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from objectives.errors import UnknownScorerError
from objectives.eval_tasks.scorers._base import Scorer
from registries import Registry

SCORERS: Registry[type[Scorer]] = Registry(
    "scorer", package="objectives.eval_tasks.scorers", error=UnknownScorerError
)
"""Every scorer class by its ``name``, in declared order."""

S = TypeVar("S", bound=type[Scorer])


def register_scorer(*, order: float | None = None) -> Callable[[S], S]:
    """Class decorator: registers a ``Scorer`` subclass under its own ``name``.

    ``order`` places it in ``SCORERS.names()`` (and in the "Available: ..." lists)."""

    def decorate(kind: S) -> S:
        SCORERS.add(kind.name, kind, order=order)
        return kind

    return decorate


def scorers_taking(option: str) -> tuple[str, ...]:
    """The names of the scorers that declare ``option`` (e.g. ``pattern``)."""
    return tuple(name for name, kind in SCORERS.items() if option in kind.options)
