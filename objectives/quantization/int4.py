"""``int4``: bitsandbytes NF4 (blocks of 64, fp32 compute), quantized while loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from objectives.quantization._base import QuantizationError, QuantMethod
from objectives.quantization._registry import QUANTIZERS


class Int4(QuantMethod):
    level = "int4"
    method = "bitsandbytes.nf4"
    serving_dtype = "nf4"
    package = "bitsandbytes"
    in_memory = False
    notes = (
        "Linear weights NF4 (4-bit, one absmax per 64 weights) via bitsandbytes, computed "
        "in float32; lm_head and embeddings stay float32. Quantized while loading: an in-memory "
        "model is saved to a temporary folder and reloaded. Expect a visible quality drop."
    )

    def load(self, path: Path, device: str) -> Any:
        import torch
        from transformers import AutoModelForCausalLM, BitsAndBytesConfig

        config = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=torch.float32,
        )
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(path), quantization_config=config, device_map={"": device}, dtype=torch.float32
            )
        except (OSError, ValueError) as error:
            raise QuantizationError(f"Cannot load {str(path)!r} as nf4: {error}") from error
        # On CPU, bitsandbytes repacks each 4-bit weight for its kernel on the first forward
        # (absmax to bfloat16, a smaller layout). One token now makes the size measured here the
        # size as served, and stable across evaluations.
        with torch.no_grad():
            model(torch.zeros((1, 1), dtype=torch.long, device=device))
        return model


QUANTIZERS.add(Int4.level, Int4(), order=4)
