"""``bf16``: every floating-point weight cast to bfloat16."""

from __future__ import annotations

from objectives.quantization._cast import CastLevel
from objectives.quantization._registry import QUANTIZERS


class Bf16(CastLevel):
    level = "bf16"
    method = "torch.cast:bfloat16"
    serving_dtype = "bf16"
    torch_dtype = "bfloat16"
    notes = (
        "All floating-point weights cast to bfloat16. Half the bytes, quality unchanged "
        "in practice; slow on CPUs without bf16 instructions (speed is priced for the GPU)."
    )


QUANTIZERS.add(Bf16.level, Bf16(), order=1)
