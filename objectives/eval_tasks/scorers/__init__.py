"""Built-in scorers for a JSONL eval file (``eval.tasks.X: {file:, scorer:}``), by name.

A new scorer is one module with one ``Scorer`` subclass, added to ``_registry`` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from objectives.errors import UnknownScorerError
from objectives.eval_tasks.scorers._base import GenerationScorer, OutputType, Scorer, choice_index
from objectives.eval_tasks.scorers.choice import Choice, ChoiceTarget
from objectives.eval_tasks.scorers.contains import Contains
from objectives.eval_tasks.scorers.exact_match import ExactMatch
from objectives.eval_tasks.scorers.json_fields import JsonFields
from objectives.eval_tasks.scorers.regex import Regex


def _registry(*kinds: type[Scorer]) -> Mapping[str, type[Scorer]]:
    table: dict[str, type[Scorer]] = {}
    for kind in kinds:
        if kind.name in table:
            raise ValueError(f"Scorer {kind.name!r} is registered twice.")
        table[kind.name] = kind
    return MappingProxyType(table)


SCORERS: Mapping[str, type[Scorer]] = _registry(ExactMatch, Contains, Regex, JsonFields, Choice)
"""Every built-in scorer by name."""

#: Scorers that take a ``pattern`` option.
PATTERN_SCORERS: tuple[str, ...] = ("regex",)


def make_scorer(name: str, *, pattern: str | None = None) -> Scorer:
    """The scorer called ``name`` (``pattern`` only for ``regex``).

    Raises ``UnknownScorerError`` listing the available names, ``ValueError`` for a missing,
    superfluous or invalid ``pattern``.
    """
    kind = SCORERS.get(name)
    if kind is None:
        raise UnknownScorerError(f"Unknown scorer {name!r}. Available: {', '.join(SCORERS)}")
    if name in PATTERN_SCORERS:
        if pattern is None:
            raise ValueError(f"scorer {name!r} needs a `pattern` (a Python regular expression)")
        return kind(pattern=pattern)  # type: ignore[call-arg]
    if pattern is not None:
        raise ValueError(f"`pattern` applies only to scorer(s) {', '.join(PATTERN_SCORERS)}")
    return kind()


__all__ = [
    "PATTERN_SCORERS",
    "SCORERS",
    "Choice",
    "ChoiceTarget",
    "Contains",
    "ExactMatch",
    "GenerationScorer",
    "JsonFields",
    "OutputType",
    "Regex",
    "Scorer",
    "choice_index",
    "make_scorer",
]
