"""Quantization levels: store a model's weights in fewer bits and say what that cost in bytes.

A study picks one level per trial. Each level is one public module of this package
(``fp32``, ``bf16``, ``fp16``, ``int8``, ``int4``) holding a ``QuantMethod`` subclass that
registers itself in ``QUANTIZERS``; the study schema, the recipe pipeline and the docs read
the registry. A new level is one new module (plus nothing: the contract suite in
``tests/objectives/quantization/`` runs against every registered level). Each level has one
implementation, chosen because it runs on CPU and leaves lm-eval's ``HFLM`` working:

* ``fp32`` -- unchanged.
* ``bf16`` / ``fp16`` -- every floating-point weight cast with ``.to(dtype)``.
* ``int8`` -- torchao ``Int8WeightOnlyConfig`` on the ``nn.Linear`` layers (per-row scales).
* ``int4`` -- bitsandbytes NF4 (blocks of 64, fp32 compute). bitsandbytes quantizes while
  loading, so an in-memory model is saved to a temporary folder and reloaded.

Measured on SmolLM2-135M (stack notes): fp32 538 MB; bf16/fp16 269 MB with unchanged quality;
torchao int8 about 250 MB and near-lossless; nf4 about 173 MB with a visible quality drop.
Rejected: ``torch.ao.quantization.quantize_dynamic`` (deprecated, breaks ``HFLM``'s
``tie_weights`` and loses much quality), torchao int4 (no CPU path), optimum-quanto qint4
(worse than nf4 and fails under ``torch.inference_mode``).

Sizes are the bytes the weights occupy in memory (``model_size_bytes``), counting the packed
data and the scales of quantized tensors, and a tied weight once.
"""

from objectives.quantization._apply import get_quant_method, load_quantized, quantize_model
from objectives.quantization._base import QuantizationError, QuantizedModel, QuantMethod
from objectives.quantization._registry import QUANTIZERS
from objectives.quantization._size import model_size_bytes

QUANT_LEVELS: tuple[str, ...] = QUANTIZERS.names()
"""Every level a study may choose, from most to fewest bits per weight (``QUANTIZERS.names()``)."""

__all__ = [
    "QUANTIZERS",
    "QUANT_LEVELS",
    "QuantMethod",
    "QuantizationError",
    "QuantizedModel",
    "get_quant_method",
    "load_quantized",
    "model_size_bytes",
    "quantize_model",
]
