"""Quantization levels: store a model's weights in fewer bits and say what that cost in bytes.

A study picks one of ``QUANT_LEVELS`` per trial. Each level has one implementation,
chosen because it runs on CPU and leaves lm-eval's ``HFLM`` working
(see docs in ``QUANT_METHODS``):

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

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from objectives.errors import ObjectiveError

if TYPE_CHECKING:
    import torch

QuantLevel = Literal["fp32", "bf16", "fp16", "int8", "int4"]

QUANT_LEVELS: tuple[str, ...] = ("fp32", "bf16", "fp16", "int8", "int4")
"""Every level a study may choose, from most to fewest bits per weight."""


class QuantizationError(ObjectiveError, ValueError):
    """An unknown level, a missing optional package, or a model a level cannot handle."""


@dataclass(frozen=True)
class QuantMethod:
    """How one level is applied.

    ``method`` names the implementation (logged with every trial). ``serving_dtype`` is the
    weight dtype the cost model prices serving with (``cost_models`` ``Dtype``).
    ``package`` is the optional package the method needs (None: torch only).
    ``in_memory`` is False when the method can only quantize while loading from a folder, so
    ``quantize_model`` round-trips the model through a temporary folder.
    """

    level: str
    method: str
    serving_dtype: str
    package: str | None
    in_memory: bool
    notes: str


@dataclass(frozen=True)
class QuantizedModel:
    """A model at one level.

    ``weight_bytes`` is ``model_size_bytes(model)``: bytes of parameters and buffers as stored
    (packed integers plus their scales; a tied weight counted once).
    """

    model: Any
    level: str
    method: str
    weight_bytes: int
    notes: str
    serving_dtype: str


def _registry(*methods: QuantMethod) -> Mapping[str, QuantMethod]:
    table: dict[str, QuantMethod] = {}
    for method in methods:
        if method.level in table:
            raise ValueError(f"Quantization level {method.level!r} is registered twice.")
        table[method.level] = method
    if tuple(table) != QUANT_LEVELS:
        raise ValueError(f"QUANT_METHODS must cover {QUANT_LEVELS}, but got {tuple(table)}.")
    return MappingProxyType(table)


QUANT_METHODS: Mapping[str, QuantMethod] = _registry(
    QuantMethod(
        level="fp32",
        method="none",
        serving_dtype="fp32",
        package=None,
        in_memory=True,
        notes="Unchanged float32 weights: the reference every other level is compared to.",
    ),
    QuantMethod(
        level="bf16",
        method="torch.cast:bfloat16",
        serving_dtype="bf16",
        package=None,
        in_memory=True,
        notes="All floating-point weights cast to bfloat16. Half the bytes, quality unchanged "
        "in practice; slow on CPUs without bf16 instructions (speed is priced for the GPU).",
    ),
    QuantMethod(
        level="fp16",
        method="torch.cast:float16",
        serving_dtype="fp16",
        package=None,
        in_memory=True,
        notes="All floating-point weights cast to float16. Half the bytes; very slow on CPU.",
    ),
    QuantMethod(
        level="int8",
        method="torchao.Int8WeightOnlyConfig",
        serving_dtype="int8",
        package="torchao",
        in_memory=True,
        notes="Linear weights int8 with one scale per output row; activations stay float. "
        "Embeddings stay float32, and a head tied to them is left tied (unquantized), "
        "because lm-eval re-ties weights and would undo it.",
    ),
    QuantMethod(
        level="int4",
        method="bitsandbytes.nf4",
        serving_dtype="nf4",
        package="bitsandbytes",
        in_memory=False,
        notes="Linear weights NF4 (4-bit, one absmax per 64 weights) via bitsandbytes, computed "
        "in float32; lm_head and embeddings stay float32. Quantized while loading: an in-memory "
        "model is saved to a temporary folder and reloaded. Expect a visible quality drop.",
    ),
)
"""Level -> implementation, in ``QUANT_LEVELS`` order."""


def get_quant_method(level: str) -> QuantMethod:
    """The implementation of ``level``; raises ``QuantizationError`` listing the valid levels."""
    try:
        return QUANT_METHODS[level]
    except (KeyError, TypeError):
        raise QuantizationError(
            f"Unknown quantization level {level!r}. Available: {', '.join(QUANT_LEVELS)}"
        ) from None


def quantize_model(model: Any, level: str) -> QuantizedModel:
    """Bring an in-memory transformers causal LM to ``level``, on the device it is on.

    fp32, bf16, fp16 and int8 change ``model`` in place and return it; keep a
    ``copy.deepcopy`` if the original is still needed. int4 leaves ``model`` unchanged and
    returns a new model (saved to a temporary folder and reloaded quantized, about a second
    per 100M parameters). The result is in eval mode.
    """
    spec = get_quant_method(level)
    _require_package(spec)
    if spec.in_memory:
        quantized = _IN_MEMORY[spec.level](model)
    else:
        with tempfile.TemporaryDirectory(prefix="sweeper-quantize-") as folder:
            model.save_pretrained(folder)
            quantized = _LOADERS[spec.level](Path(folder), _device_name(model))
    return _result(quantized.eval(), spec)


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
    if spec.level in _LOADERS:
        model = _LOADERS[spec.level](path, device)
    else:
        model = _IN_MEMORY[spec.level](_load_float32(path).to(device))
    return _result(model.eval(), spec)


def model_size_bytes(model: Any) -> int:
    """Bytes of ``model``'s parameters and buffers as stored in memory.

    Quantized tensors count their real parts: torchao tensor subclasses their inner
    tensors (``qdata``, ``scale``...), bitsandbytes ``Params4bit`` its packed bytes plus its
    quantization state (absmax, code book). A tensor shared by several modules (tied
    embeddings) counts once.
    """
    seen: set[tuple[int, ...]] = set()
    total = 0
    for tensor in _stored_tensors(model):
        for leaf in _leaf_tensors(tensor):
            key = _storage_key(leaf)
            if key in seen:
                continue
            seen.add(key)
            total += leaf.numel() * leaf.element_size()
    return total


def _stored_tensors(model: Any) -> Iterator[torch.Tensor]:
    yield from model.parameters()  # parameters() already skips duplicates (tied weights)
    yield from model.buffers()


def _leaf_tensors(tensor: Any) -> Iterator[torch.Tensor]:
    """The plain tensors that hold ``tensor``'s data."""
    flatten = getattr(type(tensor), "__tensor_flatten__", None)
    if flatten is not None:  # torchao and other wrapper tensor subclasses
        names, _ = tensor.__tensor_flatten__()
        for name in names:
            yield from _leaf_tensors(getattr(tensor, name))
        return
    yield tensor
    quant_state = getattr(tensor, "quant_state", None)  # bitsandbytes 4-bit
    if quant_state is not None:
        for value in quant_state.as_dict(packed=False).values():
            if hasattr(value, "element_size"):
                yield value


def _storage_key(tensor: torch.Tensor) -> tuple[int, ...]:
    """Identity of the memory a tensor views, so a shared tensor (a code book) counts once."""
    try:
        address = tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return (id(tensor),)
    if address == 0:  # empty or meta tensors
        return (id(tensor),)
    return (address, int(tensor.storage_offset()), tensor.numel(), tensor.element_size())


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
    import importlib.util

    if importlib.util.find_spec(spec.package) is None:
        raise QuantizationError(
            f"Quantization level {spec.level!r} ({spec.method}) needs the package "
            f"'{spec.package}', which is not installed. Install it with: pip install {spec.package}"
        )


def _keep(model: Any) -> Any:
    return model


def _cast(dtype_name: str) -> Callable[[Any], Any]:
    def cast(model: Any) -> Any:
        import torch

        return model.to(getattr(torch, dtype_name))

    return cast


def _torchao_int8(model: Any) -> Any:
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


def _device_name(model: Any) -> str:
    return str(next(model.parameters()).device)


def _bitsandbytes_nf4(path: Path, device: str = "cpu") -> Any:
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


def _load_float32(path: Path) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    except (OSError, ValueError) as error:
        raise QuantizationError(f"Cannot load model from {str(path)!r}: {error}") from error


_IN_MEMORY: dict[str, Callable[[Any], Any]] = {
    "fp32": _keep,
    "bf16": _cast("bfloat16"),
    "fp16": _cast("float16"),
    "int8": _torchao_int8,
}
_LOADERS: dict[str, Callable[[Path, str], Any]] = {"int4": _bitsandbytes_nf4}
