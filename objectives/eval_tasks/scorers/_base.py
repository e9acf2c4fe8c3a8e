"""What a scorer is: how one answer of a JSONL eval file is scored against its target.

A scorer is one class in one public module of this folder, registered by name with
``@register_scorer`` (``_registry.py``), which finds it without any other file listing it. It
declares how lm-eval must query the model (``output_type``: generate an answer, or rank the
``choices`` by log-likelihood), the metrics it reports (the headline first; every one is a mean
over items in [0, 1], so lm-eval gives its standard error) and how to read a target from a file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, Literal

OutputType = Literal["generate_until", "multiple_choice"]


class Scorer(ABC):
    """Scores one item. Subclasses are small frozen dataclasses (only ``regex`` has a field)."""

    name: ClassVar[str]
    description: ClassVar[str]
    output_type: ClassVar[OutputType] = "generate_until"
    #: Every metric the scorer reports; the first is the default objective value.
    metrics: ClassVar[tuple[str, ...]]
    #: The settings a study file gives this scorer (``eval.tasks.X.<option>``), each with what
    #: it must be; they are the class's dataclass fields, passed to it by keyword.
    options: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def target_problem(self, target: Any) -> str | None:
        """Why ``target`` (one row's target value) cannot be scored, or None when it can."""
        if isinstance(target, (str, int, float)) and not isinstance(target, bool):
            return None
        return "a string (or number)"

    @abstractmethod
    def score(self, answer: Any, target: Any) -> dict[str, float]:
        """The metrics of one item: ``answer`` is the generated text (``multiple_choice``: the
        log-likelihood of each choice), ``target`` the row's target as read from the file."""


class GenerationScorer(Scorer, ABC):
    """A scorer of generated text (``generate_until``), compared with a text target."""

    @abstractmethod
    def score(self, answer: str, target: Any) -> dict[str, float]: ...


def target_text(target: Any) -> str:
    """A string target as is; a number as its JSON text (``3`` -> ``"3"``)."""
    return target if isinstance(target, str) else str(target)


def choice_index(target: Any, choices: Sequence[str]) -> int | None:
    """The index a ``choice`` target names: an index into ``choices`` or one of their texts."""
    if isinstance(target, bool):
        return None
    if isinstance(target, int):
        return target if 0 <= target < len(choices) else None
    if isinstance(target, str) and target in choices:
        return list(choices).index(target)
    return None
