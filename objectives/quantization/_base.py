"""What one quantization level is: a small base class, its error, and the model it returns.

A level is a subclass of ``QuantMethod`` that says what it is (class attributes) and overrides
one of two methods: ``quantize`` (an in-memory model, the usual case) or ``load`` (a level whose
backend can only quantize while loading from a folder, such as bitsandbytes). The other method
has a default built on the one overridden.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from objectives.errors import ObjectiveError


class QuantizationError(ObjectiveError, ValueError):
    """An unknown level, a missing optional package, or a model a level cannot handle."""


class QuantMethod:
    """How one level is applied.

    ``level`` is the name a study file uses. ``method`` names the implementation (logged with
    every trial). ``serving_dtype`` is the weight dtype the cost model prices serving with
    (a key of ``cost_models.DTYPE_BYTES``). ``package`` is the optional package the method
    needs (None: torch only). ``in_memory`` is False when the method can only quantize while
    loading from a folder (it overrides ``load``), so ``quantize`` round-trips the model
    through a temporary folder. ``notes`` is the level's description for docs and logs.
    """

    level: ClassVar[str]
    method: ClassVar[str]
    serving_dtype: ClassVar[str]
    package: ClassVar[str | None] = None
    in_memory: ClassVar[bool] = True
    notes: ClassVar[str]

    def quantize(self, model: Any) -> Any:
        """``model`` (a transformers causal LM) at this level, on the device it is on.

        The default (for levels that override ``load``) saves it to a temporary folder and
        loads it back quantized, leaving ``model`` unchanged."""
        with tempfile.TemporaryDirectory(prefix="sweeper-quantize-") as folder:
            model.save_pretrained(folder)
            return self.load(Path(folder), _device_name(model))

    def load(self, path: Path, device: str) -> Any:
        """The model folder ``path`` loaded at this level on ``device``.

        The default loads it in float32 and calls ``quantize``."""
        return self.quantize(load_float32(path).to(device))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self.level!r}, method={self.method!r})"


@dataclass(frozen=True)
class QuantizedModel:
    """A model at one level.

    ``weight_bytes`` is ``model_size_bytes(model)``: bytes of parameters and buffers as stored
    (packed integers plus their scales; a tied weight counted once).
    """

    model: Any
    level: str
    method: str
    weight_bytes: int
    notes: str
    serving_dtype: str


def load_float32(path: Path) -> Any:
    """The causal LM in ``path`` with float32 weights, on CPU."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    except (OSError, ValueError) as error:
        raise QuantizationError(f"Cannot load model from {str(path)!r}: {error}") from error


def _device_name(model: Any) -> str:
    return str(next(model.parameters()).device)
