"""Errors of a live price refresh; each is printed by the CLI as one line with exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from cost_models.errors import CostModelError, UnknownNameError


class PriceFetchError(CostModelError):
    """A pricing API could not be reached, refused the call, or answered something unusable."""


class CatalogFileConflictError(CostModelError):
    """A refresh would replace a file someone wrote or edited, or an existing one without force."""


class UnknownPriceSourceError(UnknownNameError):
    """``Unknown price source 'azur'. Did you mean: azure?``"""

    kind = "price source"

    @classmethod
    def among(cls, name: str, available: Sequence[str]) -> UnknownPriceSourceError:
        """The error for ``name``, suggesting the close matches among ``available``."""
        return cls(name, difflib.get_close_matches(name, available, n=3), sorted(available))
