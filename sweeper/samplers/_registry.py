"""The samplers a study file can name (``sampler: {name: ..., kwargs: {...}}``): one registry,
filled by this package's public modules, one module per sampler.

A sampler declares the keyword arguments a study file may pass as a pydantic model (names, types,
bounds, defaults, help text: ``SamplerOptions``) and builds itself from the loaded study, the seed
and those validated options. The study schema validates ``sampler.name`` against ``SAMPLERS`` and
``sampler.kwargs`` against the named sampler's options when the file is loaded; ``make_sampler``
builds it. A new sampler is one new module here plus its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import optuna
from pydantic import BaseModel, ConfigDict

from registries import Registry

if TYPE_CHECKING:  # annotations only: the study schema reads this registry
    from sweeper.study import LoadedStudy


class SamplerOptions(BaseModel):
    """The keyword arguments a study file may give one sampler (``sampler.kwargs``). Strict: no
    unknown key, no ``"48"`` or ``48.0`` for an integer, no ``true`` for a number, no NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


O = TypeVar("O", bound=SamplerOptions)  # noqa: E741


@dataclass(frozen=True)
class SamplerKind(Generic[O]):
    """One sampler a study file can name.

    ``build(loaded, seed, options)`` returns the seeded Optuna sampler for the study (with its
    constraints, when it declares any). ``summary`` is the one-line description the docs show.
    """

    summary: str
    options: type[O]
    build: Callable[[LoadedStudy, int, O], optuna.samplers.BaseSampler]
    #: Samples each combination of the search space's ``choices`` once and then stops: the study
    #: schema requires choices on every dimension and nothing conditional, and the quote counts
    #: the grid's size instead of simulating.
    exhaustive_grid: bool = False

    def describe_options(self) -> str:
        """``name (type, default d), ...`` or ``no keyword arguments``: what an error lists."""
        fields = self.options.model_fields
        if not fields:
            return "no keyword arguments"
        return ", ".join(
            f"{n} ({_type_name(f.annotation)}, default "
            f"{'Optuna' + chr(39) + 's' if f.default is None else repr(f.default)})"
            for n, f in fields.items()
        )


def _type_name(annotation: object) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


#: Every sampler a study file can name, in the order the docs list them.
SAMPLERS: Registry[SamplerKind] = Registry("sampler", package="sweeper.samplers")
