"""How many bytes a model's weights occupy in memory, quantized tensors included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


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
