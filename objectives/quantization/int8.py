"""``int8``: torchao ``Int8WeightOnlyConfig`` on the ``nn.Linear`` layers (per-row scales)."""

from __future__ import annotations

from typing import Any

from objectives.quantization._base import QuantMethod
from objectives.quantization._registry import QUANTIZERS


class Int8(QuantMethod):
    level = "int8"
    method = "torchao.Int8WeightOnlyConfig"
    serving_dtype = "int8"
    package = "torchao"
    notes = (
        "Linear weights int8 with one scale per output row; activations stay float. "
        "Embeddings stay float32, and a head tied to them is left tied (unquantized), "
        "because lm-eval re-ties weights and would undo it."
    )

    def quantize(self, model: Any) -> Any:
        import torch
        from torchao.quantization import Int8WeightOnlyConfig, quantize_

        tied_head = _tied_output_embedding(model)

        def is_quantized_layer(module: torch.nn.Module, fqn: str) -> bool:
            return isinstance(module, torch.nn.Linear) and module is not tied_head

        quantize_(model, Int8WeightOnlyConfig(), filter_fn=is_quantized_layer)
        return model


def _tied_output_embedding(model: Any) -> Any:
    """The output head when it shares its weight with the input embedding, else None."""
    get_out = getattr(model, "get_output_embeddings", None)
    get_in = getattr(model, "get_input_embeddings", None)
    if get_out is None or get_in is None:
        return None
    head, embedding = get_out(), get_in()
    if head is None or embedding is None or head.weight is not embedding.weight:
        return None
    return head


QUANTIZERS.add(Int8.level, Int8(), order=3)
