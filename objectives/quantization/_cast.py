"""Levels that cast every floating-point weight to a narrower float dtype (bf16, fp16)."""

from __future__ import annotations

from typing import Any, ClassVar

from objectives.quantization._base import QuantMethod


class CastLevel(QuantMethod):
    """Every floating-point weight cast with ``.to(torch_dtype)``."""

    torch_dtype: ClassVar[str]  # a torch dtype name: bfloat16, float16

    def quantize(self, model: Any) -> Any:
        import torch

        return model.to(getattr(torch, self.torch_dtype))
