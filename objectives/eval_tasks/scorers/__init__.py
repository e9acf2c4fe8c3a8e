"""Built-in scorers for a JSONL eval file (``eval.tasks.X: {file:, scorer:}``), by name.

A new scorer is one public module of this folder with one ``Scorer`` subclass decorated with
``@register_scorer``, plus its test: ``SCORERS`` finds it, and the study schema, the error
messages and ``make_scorer`` read ``SCORERS``; no other file lists scorers. A scorer's settings
(regex's ``pattern``) are declared by the class itself (``Scorer.options``).
"""

from __future__ import annotations

from typing import Any

from objectives.eval_tasks.scorers._base import GenerationScorer, OutputType, Scorer, choice_index
from objectives.eval_tasks.scorers._registry import SCORERS, register_scorer, scorers_taking
from objectives.eval_tasks.scorers.choice import Choice, ChoiceTarget
from objectives.eval_tasks.scorers.contains import Contains
from objectives.eval_tasks.scorers.exact_match import ExactMatch
from objectives.eval_tasks.scorers.json_fields import JsonFields
from objectives.eval_tasks.scorers.regex import Regex


def make_scorer(name: str, **options: str | None) -> Scorer:
    """The scorer called ``name`` with its ``options`` (``pattern`` for ``regex``; an option
    given as None counts as not given).

    Raises ``UnknownScorerError`` listing the available names, ``ValueError`` for a missing,
    superfluous or invalid option.
    """
    kind = SCORERS.get(name)
    given = {option: value for option, value in options.items() if value is not None}
    for option, what in kind.options.items():
        if option not in given:
            raise ValueError(f"scorer {name!r} needs a `{option}` ({what})")
    for option in given:
        if option not in kind.options:
            takers = scorers_taking(option)
            raise ValueError(f"`{option}` applies only to scorer(s) {', '.join(takers) or 'none'}")
    return kind(**given)


def __getattr__(name: str) -> Any:
    if name == "PATTERN_SCORERS":  # computed: the scorers that declare a `pattern` option
        return scorers_taking("pattern")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PATTERN_SCORERS",  # noqa: F822  (module __getattr__)
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
    "register_scorer",
    "scorers_taking",
]
