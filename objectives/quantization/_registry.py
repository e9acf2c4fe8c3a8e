"""The quantization levels, by name: every public module of this package registers one."""

from __future__ import annotations

from objectives.quantization._base import QuantizationError, QuantMethod
from registries import Registry

QUANTIZERS: Registry[QuantMethod] = Registry(
    "quantization level", package="objectives.quantization", error=QuantizationError
)
"""Level name -> its ``QuantMethod``; ``names()`` reads from most to fewest bits per weight."""
