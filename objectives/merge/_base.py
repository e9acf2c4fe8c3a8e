"""What one merge method is: mergekit's name for it and the rules its configuration follows.

A method is a subclass of ``MergeMethod`` that sets the class attributes below and, when
mergekit wants more than per-model weights, overrides ``mergekit_base_model`` and
``mergekit_parameters``. ``MergeConfig`` validates a configuration against these attributes,
and the recipe pipeline maps a fine-tune's share of the merge onto them; nothing dispatches on
a method's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from objectives.merge._config import MergeConfig


class MergeMethod:
    """One mergekit merge method.

    ``name`` is mergekit's ``merge_method`` (and the study file's). ``description`` is one
    line for docs. ``task_vectors``: the method merges ``model - base_model`` differences, so
    ``base_model`` is required and each model may take a ``density`` (others reject both).
    ``weighted``: mergekit reads a per-model ``weight`` (slerp does not). ``exact_models``:
    the number of models the method merges, when fixed. ``interpolates``: the method takes
    ``t`` in [0, 1] between its first (t=0) and second (t=1) model.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    task_vectors: ClassVar[bool] = False
    weighted: ClassVar[bool] = True
    exact_models: ClassVar[int | None] = None
    interpolates: ClassVar[bool] = False

    def mergekit_base_model(self, config: MergeConfig) -> str | None:
        """mergekit's ``base_model`` entry (None: none)."""
        return str(config.base_model) if config.base_model is not None else None

    def mergekit_parameters(self, config: MergeConfig) -> dict[str, Any]:
        """mergekit's global ``parameters`` this method adds to ``config.extra``."""
        return {}

    def t_for_share(self, share: float) -> float | None:
        """``t`` for a merge in which the first model (the fine-tune) has ``share`` of the
        result; None for a method that does not interpolate."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
