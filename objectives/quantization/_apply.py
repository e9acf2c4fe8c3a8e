"""Bringing a model to a level by name: the registry's level, its package checked first."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from objectives.quantization._base import QuantizationError, QuantizedModel, QuantMethod
from objectives.quantization._registry import QUANTIZERS
from objectives.quantization._size import model_size_bytes


def get_quant_method(level: str) -> QuantMethod:
    """The implementation of ``level``; raises ``QuantizationError`` listing the valid levels."""
    return QUANTIZERS.get(level)


def quantize_model(model: Any, level: str) -> QuantizedModel:
    """Bring an in-memory transformers causal LM to ``level``, on the device it is on.

    Levels that quantize in memory (fp32, bf16, fp16, int8) change ``model`` in place and
    return it; keep a ``copy.deepcopy`` if the original is still needed. A level that
    quantizes while loading (int4) leaves ``model`` unchanged and returns a new model (saved
    to a temporary folder and reloaded quantized, about a second per 100M parameters). The
    result is in eval mode.
    """
    spec = get_quant_method(level)
    _require_package(spec)
    return _result(spec.quantize(model).eval(), spec)


def load_quantized(model_path: str | Path, level: str, *, device: str = "cpu") -> QuantizedModel:
    """Load the model folder ``model_path`` (weights only) at ``level``, on ``device``.

    The natural entry point when the model is already on disk (a merge output): int4 then
    quantizes while loading, without the float32 copy ``quantize_model`` needs.
    """
    spec = get_quant_method(level)
    _require_package(spec)
    path = Path(model_path)
    if not (path / "config.json").is_file():
        raise QuantizationError(f"A model folder must contain config.json, but got {str(path)!r}.")
    return _result(spec.load(path, device).eval(), spec)


def _result(model: Any, spec: QuantMethod) -> QuantizedModel:
    return QuantizedModel(
        model=model,
        level=spec.level,
        method=spec.method,
        weight_bytes=model_size_bytes(model),
        notes=spec.notes,
        serving_dtype=spec.serving_dtype,
    )


def _require_package(spec: QuantMethod) -> None:
    if spec.package is None:
        return
    if importlib.util.find_spec(spec.package) is None:
        raise QuantizationError(
            f"Quantization level {spec.level!r} ({spec.method}) needs the package "
            f"'{spec.package}', which is not installed. Install it with: pip install {spec.package}"
        )
