"""``fp32``: unchanged float32 weights, the reference every other level is compared to."""

from __future__ import annotations

from typing import Any

from objectives.quantization._base import QuantMethod
from objectives.quantization._registry import QUANTIZERS


class Fp32(QuantMethod):
    level = "fp32"
    method = "none"
    serving_dtype = "fp32"
    notes = "Unchanged float32 weights: the reference every other level is compared to."

    def quantize(self, model: Any) -> Any:
        return model


QUANTIZERS.add(Fp32.level, Fp32(), order=0)
