"""``fp16``: every floating-point weight cast to float16."""

from __future__ import annotations

from objectives.quantization._cast import CastLevel
from objectives.quantization._registry import QUANTIZERS


class Fp16(CastLevel):
    level = "fp16"
    method = "torch.cast:float16"
    serving_dtype = "fp16"
    torch_dtype = "float16"
    notes = "All floating-point weights cast to float16. Half the bytes; very slow on CPU."


QUANTIZERS.add(Fp16.level, Fp16(), order=2)
