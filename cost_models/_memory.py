"""GPU memory a training or serving job needs, with a breakdown by what holds it.

Bytes per parameter and the activation formulas follow stas00/ml-engineering
``training/performance/README.md`` and ``inference/README.md`` (reference cloud-costs.md §5):

* weights: fp32 4, bf16/fp16 2, int8 1, int4 0.5, NF4 0.56 bytes per parameter (4-bit codes plus
  block scales: 0.5–0.56, the upper end is used);
* full fine-tuning with mixed-precision AdamW: 18 bytes/param = 6 weights (fp32 master + bf16
  copy) + 8 optimizer states (2 with 8-bit Adam) + 4 gradients;
* LoRA / QLoRA: frozen base weights, plus 18 bytes per trainable adapter parameter;
* activations per layer without checkpointing: 34·b·s·h bytes (16-bit activations, attention
  scores not stored as with FlashAttention; Korthikanti et al. 2022, arXiv 2205.05198); with
  checkpointing only each layer's 16-bit input (2·b·s·h) is kept plus one layer's working set;
  fp32 logits add 4·b·s·V;
* KV cache: 2 · layers · kv_heads · head_dim · seq_len · batch · bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from cost_models._dtypes import Dtype, dtype_bytes
from cost_models._model_shapes import ModelShape, approximate_shape
from cost_models.errors import InvalidInputError

TrainingMethod = Literal["lora", "qlora", "full"]
Optimizer = Literal["adamw", "adamw-8bit"]

TRAINING_METHODS: tuple[str, ...] = get_args(TrainingMethod)
GIB = 1024**3

_ADAPTER_WEIGHT_BYTES = 6.0  # fp32 master + bf16 copy
_GRADIENT_BYTES = 4.0
_OPTIMIZER_BYTES = {"adamw": 8.0, "adamw-8bit": 2.0}
_ACTIVATION_BYTES_PER_LAYER_TOKEN_HIDDEN = 34.0
_LOGIT_BYTES = 4.0


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed, by component. ``replicated_bytes`` is the part every GPU holds in full.

    When a job is spread over ``n`` GPUs (FSDP/ZeRO-3 sharding for training, tensor parallelism
    for serving) the rest is divided: see ``per_gpu_bytes``.
    """

    weights_bytes: float
    adapters_bytes: float = 0.0
    optimizer_bytes: float = 0.0
    gradients_bytes: float = 0.0
    activations_bytes: float = 0.0
    kv_cache_bytes: float = 0.0
    replicated_bytes: float = 0.0

    @property
    def total_bytes(self) -> float:
        return (
            self.weights_bytes
            + self.adapters_bytes
            + self.optimizer_bytes
            + self.gradients_bytes
            + self.activations_bytes
            + self.kv_cache_bytes
        )

    @property
    def total_gib(self) -> float:
        return self.total_bytes / GIB

    def per_gpu_bytes(self, gpu_count: int) -> float:
        """Bytes on each of ``gpu_count`` GPUs: shardable part split, replicated part whole."""
        if gpu_count < 1:
            raise InvalidInputError(f"A GPU count must be >= 1, but got {gpu_count}.")
        shardable = max(self.total_bytes - self.replicated_bytes, 0.0)
        return shardable / gpu_count + min(self.replicated_bytes, self.total_bytes)

    def to_dict(self) -> dict[str, float]:
        """``breakdown_gib`` keyed ``weights_gib``, ..., ``total_gib``."""
        return {f"{name}_gib": value for name, value in self.breakdown_gib().items()}

    def breakdown_gib(self) -> dict[str, float]:
        """Each non-zero component and the total, in GiB."""
        parts = {
            "weights": self.weights_bytes,
            "adapters": self.adapters_bytes,
            "optimizer": self.optimizer_bytes,
            "gradients": self.gradients_bytes,
            "activations": self.activations_bytes,
            "kv_cache": self.kv_cache_bytes,
        }
        shown = {name: value / GIB for name, value in parts.items() if value}
        shown["total"] = self.total_gib
        return shown


def as_shape(shape_or_params: ModelShape | float) -> ModelShape:
    """A shape as given, or a Llama-like approximation for a bare parameter count."""
    if isinstance(shape_or_params, ModelShape):
        return shape_or_params
    return approximate_shape(float(shape_or_params))


def training_memory_bytes(
    shape_or_params: ModelShape | float,
    method: TrainingMethod,
    *,
    dtype: Dtype | None = None,
    adapter_params: float = 0.0,
    seq_len: int = 2048,
    batch: int = 1,
    checkpointing: bool = True,
    optimizer: Optimizer = "adamw",
) -> MemoryEstimate:
    """Memory to fine-tune a model of ``shape_or_params`` with ``method``; ``batch`` is per GPU.

    ``dtype`` is the stored dtype of the base weights: full fine-tuning keeps bf16 weights with an
    fp32 master copy (``fp32`` keeps only fp32); LoRA defaults to bf16 and QLoRA to NF4.
    """
    if method not in TRAINING_METHODS:
        raise InvalidInputError(
            f"A training method must be one of {', '.join(TRAINING_METHODS)}, but got {method!r}."
        )
    _check_positive(seq_len=seq_len, batch=batch)
    if adapter_params < 0:
        raise InvalidInputError(f"Adapter parameters must be >= 0, but got {adapter_params!r}.")
    if optimizer not in _OPTIMIZER_BYTES:
        raise InvalidInputError(
            f"An optimizer must be one of {', '.join(_OPTIMIZER_BYTES)}, but got {optimizer!r}."
        )
    shape = as_shape(shape_or_params)
    n = float(shape.params)

    if method == "full":
        stored = dtype or "bf16"
        weights_per_param = 4.0 if stored == "fp32" else dtype_bytes(stored) + 4.0
        weights = n * weights_per_param
        adapters = 0.0
        optimizer_bytes = n * _OPTIMIZER_BYTES[optimizer]
        gradients = n * _GRADIENT_BYTES
        layer_bytes = shape.params_per_layer * dtype_bytes(stored)
    else:
        stored = dtype or ("nf4" if method == "qlora" else "bf16")
        if method == "qlora" and stored not in ("nf4", "int4", "int8"):
            raise InvalidInputError(
                "QLoRA keeps the base weights quantized: dtype must be nf4, int4 or int8, but got "
                f"{stored!r}."
            )
        weights = n * dtype_bytes(stored)
        adapters = adapter_params * _ADAPTER_WEIGHT_BYTES
        optimizer_bytes = adapter_params * _OPTIMIZER_BYTES[optimizer]
        gradients = adapter_params * _GRADIENT_BYTES
        layer_bytes = (
            shape.params_per_layer * 2.0
        )  # a quantized layer is dequantized to bf16 to compute

    activations = _training_activation_bytes(shape, seq_len, batch, checkpointing)
    return MemoryEstimate(
        weights_bytes=weights,
        adapters_bytes=adapters,
        optimizer_bytes=optimizer_bytes,
        gradients_bytes=gradients,
        activations_bytes=activations,
        replicated_bytes=activations + layer_bytes,
    )


def kv_cache_bytes(
    shape: ModelShape, seq_len: int, batch: int = 1, kv_dtype: Dtype = "bf16"
) -> float:
    """KV cache = 2 · layers · kv_heads · head_dim · seq_len · batch · bytes per value."""
    _check_positive(seq_len=seq_len, batch=batch)
    return (
        2.0
        * shape.layers
        * shape.kv_heads
        * shape.head_dim
        * seq_len
        * batch
        * dtype_bytes(kv_dtype)
    )


def serving_memory_bytes(
    shape: ModelShape | float,
    weight_dtype: Dtype = "bf16",
    seq_len: int = 4096,
    batch: int = 1,
    kv_dtype: Dtype = "bf16",
) -> MemoryEstimate:
    """Weights plus a KV cache holding ``batch`` sequences of ``seq_len`` tokens."""
    model = as_shape(shape)
    return MemoryEstimate(
        weights_bytes=float(model.params) * dtype_bytes(weight_dtype),
        kv_cache_bytes=kv_cache_bytes(model, seq_len, batch, kv_dtype),
    )


def _training_activation_bytes(
    shape: ModelShape, seq_len: int, batch: int, checkpointing: bool
) -> float:
    tokens_hidden = float(batch) * seq_len * shape.hidden
    one_layer = _ACTIVATION_BYTES_PER_LAYER_TOKEN_HIDDEN * tokens_hidden
    logits = _LOGIT_BYTES * batch * seq_len * shape.vocab
    if checkpointing:
        return shape.layers * 2.0 * tokens_hidden + one_layer + logits
    return shape.layers * one_layer + logits


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not value >= 1:
            raise InvalidInputError(f"{name} must be >= 1, but got {value!r}.")
