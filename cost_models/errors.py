"""The cost model's exception tree; the CLI prints these as one line with exit code 2.

Every message states the rule first, then the values that broke it, e.g.
``Unknown GPU 'A10O'. Did you mean: A100-40GB, A100-80GB?``.
"""

from __future__ import annotations

from collections.abc import Sequence

from user_errors import UserError


class CostModelError(UserError, ValueError):
    """Root of every cost-model error the user can fix."""


class CatalogError(CostModelError):
    """A price catalog or GPU spec file is missing or malformed."""


class CatalogSchemaError(CatalogError):
    """A catalog file is of another schema version or has another header."""


class FxError(CostModelError):
    """An exchange rate is missing, malformed or not positive."""


class PriceUnknownError(CostModelError):
    """The catalog has no price for the requested offer and pricing model."""


class GpuSpecError(CostModelError):
    """The GPU spec table lacks a figure the estimate needs (e.g. bf16 TFLOP/s)."""


class InvalidInputError(CostModelError):
    """A numeric or categorical input is outside its valid range."""


class NoFeasibleInstanceError(CostModelError):
    """No catalog offer fits the workload after filters; ``excluded`` says why for each."""

    def __init__(self, message: str, excluded: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.excluded = tuple(excluded)


class UnknownNameError(CostModelError):
    """A name (GPU, instance, provider, region, model) that is not in the table it names.

    The message suggests close matches: ``Unknown GPU 'A10O'. Did you mean: A100-40GB, A100-80GB?``
    and otherwise lists what is available.
    """

    kind = "name"

    def __init__(self, name: str, suggestions: Sequence[str], available: Sequence[str]) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        self.available = tuple(available)
        if self.suggestions:
            hint = f"Did you mean: {', '.join(self.suggestions)}?"
        else:
            shown = ", ".join(self.available[:20])
            more = f", ... ({len(self.available)} in all)" if len(self.available) > 20 else ""
            hint = f"Available: {shown}{more}."
        super().__init__(f"Unknown {self.kind} '{name}'. {hint}")


class UnknownGpuError(UnknownNameError):
    kind = "GPU"


class UnknownInstanceError(UnknownNameError):
    kind = "instance"


class UnknownProviderError(UnknownNameError):
    kind = "provider"


class UnknownRegionError(UnknownNameError):
    kind = "region"


class UnknownModelError(UnknownNameError):
    kind = "model"


__all__ = [
    "CatalogError",
    "CatalogSchemaError",
    "CostModelError",
    "FxError",
    "GpuSpecError",
    "InvalidInputError",
    "NoFeasibleInstanceError",
    "PriceUnknownError",
    "UnknownGpuError",
    "UnknownInstanceError",
    "UnknownModelError",
    "UnknownNameError",
    "UnknownProviderError",
    "UnknownRegionError",
]
