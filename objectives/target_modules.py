"""LoRA target modules: presets named by role, resolved against each model's own module names.

The presets are written in Llama's names (what the cost model counts adapter parameters with),
but each means a role, which this module finds in any model by where its linear layers sit:

* ``q_v`` -- the attention's query and value projections (``q_proj``/``v_proj``; a fused
  ``qkv_proj``, ``c_attn``, ``query_key_value`` or ``Wqkv`` where the model fuses them);
* ``attention`` -- every linear layer inside an attention block;
* ``mlp`` -- every linear layer inside an MLP / feed-forward block;
* ``all_linear`` -- peft's ``all-linear`` (every linear layer but the output head).

A layer's role comes from the names on its path (``self_attn``, ``attn``, ``attention`` ...;
``mlp``, ``feed_forward``, ``ffn`` ...). The names returned are the shortest path suffixes that
select exactly the layers of the role (``q_proj`` in Llama, ``attn.c_proj`` in GPT-2, whose MLP
also has a ``c_proj``); peft matches a name against the end of each module's path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from objectives.errors import TrainConfigError

TARGET_MODULE_PRESETS: dict[str, list[str] | str] = {
    "q_v": ["q_proj", "v_proj"],
    "attention": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mlp": ["gate_proj", "up_proj", "down_proj"],
    "all_linear": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}
"""Preset -> its modules in Llama's names (as priced by the cost model)."""

ALL_LINEAR = "all-linear"
"""peft's own name for every linear layer but the output head."""

_ATTENTION_BLOCKS = frozenset(
    {"attn", "self_attn", "attention", "self_attention", "cross_attn", "attn_layer"}
)
_MLP_BLOCKS = frozenset({"mlp", "feed_forward", "ffn", "block_sparse_moe", "moe", "ff"})
_QUERY_VALUE = frozenset(
    {"q_proj", "v_proj", "query", "value", "qkv_proj", "c_attn", "query_key_value", "Wqkv", "qkv"}
)


def linear_module_paths(model: Any) -> tuple[str, ...]:
    """Dotted paths of ``model``'s linear layers (``nn.Linear``, transformers' ``Conv1D`` and
    bitsandbytes' 4/8-bit linears), the output head excluded. Works on a meta-device model."""
    import torch

    kinds: tuple[type, ...] = (torch.nn.Linear,)
    try:
        from transformers.pytorch_utils import Conv1D

        kinds += (Conv1D,)
    except ImportError:  # pragma: no cover - transformers always has it
        pass
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return tuple(
        name
        for name, module in model.named_modules()
        if name and isinstance(module, kinds) and module is not head
    )


def resolve_target_modules(
    requested: str | Sequence[str], linear_paths: Sequence[str]
) -> list[str] | str:
    """The ``target_modules`` to give peft for ``requested`` on a model with ``linear_paths``.

    ``requested`` is a preset name, ``all-linear`` or a list of module names. Raises
    ``TrainConfigError`` for a name no linear layer has, or a preset no layer fits, listing the
    model's linear modules.
    """
    if requested in (ALL_LINEAR, "all_linear"):
        return ALL_LINEAR
    if isinstance(requested, str):
        if requested not in TARGET_MODULE_PRESETS:
            raise TrainConfigError(
                f"Unknown target_modules preset {requested!r}. Available: "
                f"{', '.join(TARGET_MODULE_PRESETS)}, {ALL_LINEAR}, or a list of module names."
            )
        chosen = [p for p in linear_paths if _in_role(p, requested)]
        if not chosen:
            raise TrainConfigError(
                f"target_modules preset {requested!r} matches no linear layer of this model; "
                f"its linear modules: {', '.join(module_names(linear_paths))}"
            )
        return _shortest_names(chosen, linear_paths)
    names = list(requested)
    for name in names:
        if not any(_matches(path, name) for path in linear_paths):
            raise TrainConfigError(
                f"target_modules names {name!r}, which this model does not have; "
                f"its linear modules: {', '.join(module_names(linear_paths))}"
            )
    return names


def module_names(linear_paths: Sequence[str]) -> list[str]:
    """The distinct names of the linear layers, shortest unambiguous form, in model order."""
    return _shortest_names(list(linear_paths), linear_paths, unique_leaves=True)


def _in_role(path: str, preset: str) -> bool:
    parts = path.split(".")
    blocks = set(parts[:-1])
    attention = bool(blocks & _ATTENTION_BLOCKS)
    mlp = bool(blocks & _MLP_BLOCKS) and not attention
    if preset == "attention":
        return attention
    if preset == "mlp":
        return mlp
    if preset == "q_v":
        return attention and parts[-1] in _QUERY_VALUE
    return True


def _matches(path: str, name: str) -> bool:
    return path == name or path.endswith("." + name)


def _shortest_names(
    chosen: list[str], linear_paths: Iterable[str], *, unique_leaves: bool = False
) -> list[str]:
    """For each chosen path, its shortest suffix matching only chosen paths (deduplicated).

    With ``unique_leaves`` every path is chosen, and layers are told apart by the block they
    sit in only where one leaf name appears in several kinds of block (GPT-2's ``c_proj``).
    """
    chosen_set = set(chosen)
    all_paths = list(linear_paths)
    names: list[str] = []
    for path in chosen:
        parts = path.split(".")
        name = path
        for length in range(1, len(parts) + 1):
            candidate = ".".join(p for p in parts[-length:])
            if any(part.isdigit() for part in parts[-length:]):
                break  # a layer index would select one layer only
            hits = [p for p in all_paths if _matches(p, candidate)]
            if unique_leaves:
                roles = {_role(p) for p in hits}
                if len(roles) == 1:
                    name = candidate
                    break
            elif all(p in chosen_set for p in hits):
                name = candidate
                break
        if name not in names:
            names.append(name)
    return names


def _role(path: str) -> str:
    return "attention" if _in_role(path, "attention") else "mlp" if _in_role(path, "mlp") else ""
