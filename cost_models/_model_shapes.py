"""Transformer shapes: the sizes the memory, KV-cache and LoRA formulas need.

Presets copy the public Hugging Face ``config.json`` of each model; ``params`` is the published
parameter count (tests check it against the count implied by the shape). ``approximate_shape``
invents nothing about a named model: it is a stand-in for "some dense decoder with N
parameters" when only ``--params`` is given, and says so in its name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

from cost_models._names import resolve_name
from cost_models.errors import InvalidInputError, UnknownModelError

LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class ModelShape:
    """A dense decoder-only transformer with gated (SwiGLU-style) MLPs."""

    params: float
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool = False
    name: str = "custom"
    source: str = ""

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in_features, out_features) of each per-layer linear module, by PEFT module name."""
        q_out = self.heads * self.head_dim
        kv_out = self.kv_heads * self.head_dim
        return {
            "q_proj": (self.hidden, q_out),
            "k_proj": (self.hidden, kv_out),
            "v_proj": (self.hidden, kv_out),
            "o_proj": (q_out, self.hidden),
            "gate_proj": (self.hidden, self.intermediate),
            "up_proj": (self.hidden, self.intermediate),
            "down_proj": (self.intermediate, self.hidden),
        }

    @property
    def params_per_layer(self) -> int:
        """Weights of one decoder layer (linear layers plus two norms)."""
        return sum(i * o for i, o in self.linear_shapes().values()) + 2 * self.hidden

    @property
    def embedding_params(self) -> int:
        """Input embedding plus output head (one matrix when tied)."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    def params_from_shape(self) -> int:
        """The parameter count the shape implies (layers, embeddings, final norm)."""
        return self.layers * self.params_per_layer + self.embedding_params + self.hidden


def lora_adapter_params(
    shape: ModelShape, r: int, target_modules: Sequence[str] | Literal["all-linear"] = "all-linear"
) -> int:
    """Trainable LoRA parameters: ``r * (in + out)`` per targeted linear module, per layer.

    ``"all-linear"`` targets every linear module of the decoder layers (PEFT's meaning; the
    output head is left out).
    """
    if r <= 0:
        raise InvalidInputError(f"A LoRA rank must be > 0, but got r={r}.")
    modules = LORA_TARGET_MODULES if target_modules == "all-linear" else tuple(target_modules)
    linear = shape.linear_shapes()
    unknown = [m for m in modules if m not in linear]
    if unknown or not modules:
        raise InvalidInputError(
            "LoRA target modules must be 'all-linear' or some of "
            f"{', '.join(LORA_TARGET_MODULES)}, but got {list(modules)!r}."
        )
    per_layer = sum(r * (linear[m][0] + linear[m][1]) for m in dict.fromkeys(modules))
    return shape.layers * per_layer


def approximate_shape(params: float, vocab: int = 32_000) -> ModelShape:
    """A Llama-like shape with about ``params`` parameters, for when only the count is known.

    Uses the common proportions of Llama-family models: ``params ≈ 12·layers·hidden²`` with
    ``layers ≈ hidden / 128``, head_dim 128, full multi-head attention (the largest KV cache, so
    memory is not underestimated) and MLP width 8/3·hidden. Every size grows with ``params``.
    """
    if not (math.isfinite(params) and params > 0):
        raise InvalidInputError(f"A parameter count must be finite and > 0, but got {params!r}.")
    hidden = max(64, 64 * round((params * 128 / 12) ** (1 / 3) / 64))
    layers = max(1, round(hidden / 128))
    heads = max(1, hidden // 128)
    return ModelShape(
        name=f"approx-{params / 1e9:.3g}B",
        params=float(params),
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=heads,
        head_dim=hidden // heads,
        intermediate=64 * round(8 / 3 * hidden / 64),
        vocab=vocab,
        source="approximated from the parameter count (Llama-like proportions)",
    )


#: ``config.json`` keys of each size, the canonical (``transformers``-normalised) name first, then
#: the names other families spell it with.
CONFIG_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "layers": ("num_hidden_layers", "n_layer", "num_layers"),
        "hidden": ("hidden_size", "n_embd", "d_model"),
        "heads": ("num_attention_heads", "n_head"),
        "kv_heads": ("num_key_value_heads", "num_kv_heads"),
        "head_dim": ("head_dim",),
        "intermediate": ("intermediate_size", "ffn_dim", "n_inner"),
        "vocab": ("vocab_size",),
    }
)
#: Keys that make a config a mixture of experts, whose MLP this shape does not model.
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")


def shape_from_config(
    config: Mapping[str, Any], *, name: str = "custom", source: str = ""
) -> ModelShape:
    """The shape a Hugging Face ``config.json`` describes (pure: from its parsed dict).

    Reads the Llama/Mistral/Qwen2/Gemma/Phi-3 keys (``num_hidden_layers``, ``hidden_size``,
    ``num_attention_heads``, ``num_key_value_heads``, ``intermediate_size``, ``vocab_size``,
    ``tie_word_embeddings``, ``head_dim``) and the older spellings in ``CONFIG_KEYS``; a
    multimodal config's ``text_config`` is the decoder. Absent ``num_key_value_heads`` means
    full multi-head attention, absent ``head_dim`` ``hidden / heads``, absent
    ``tie_word_embeddings`` an untied output head. ``params`` is the count the shape implies.
    """
    if "text_config" in config and not _lookup(config, "layers"):
        return shape_from_config(config["text_config"], name=name, source=source)
    experts = [k for k in _EXPERT_KEYS if config.get(k)]
    if experts:
        raise InvalidInputError(
            "A model config must describe a dense decoder (mixture-of-experts MLPs are not "
            f"modelled), but got {experts[0]}={config[experts[0]]!r}; give the parameter count "
            "instead (projection.params)."
        )
    sizes = {field: _positive_int(config, field) for field in ("layers", "hidden", "heads")}
    heads = sizes["heads"]
    kv_heads = _positive_int(config, "kv_heads", default=heads)
    head_dim = _positive_int(config, "head_dim", default=sizes["hidden"] // heads)
    shape = ModelShape(
        params=0.0,
        layers=sizes["layers"],
        hidden=sizes["hidden"],
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate=_positive_int(config, "intermediate"),
        vocab=_positive_int(config, "vocab"),
        tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        name=name,
        source=source,
    )
    return replace(shape, params=float(shape.params_from_shape()))


def _lookup(config: Mapping[str, Any], field: str) -> tuple[str, Any] | None:
    for key in CONFIG_KEYS[field]:
        if config.get(key) is not None:
            return key, config[key]
    return None


def _positive_int(config: Mapping[str, Any], field: str, default: int | None = None) -> int:
    found = _lookup(config, field)
    if found is None:
        if default is not None:
            return default
        raise InvalidInputError(
            f"A model config must give {' or '.join(CONFIG_KEYS[field])} (the model's {field}), "
            "but it has none of them."
        )
    key, value = found
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(
            f"A model config's {key} must be a positive integer, but got {key}={value!r}."
        )
    return value


def _preset(name: str, hf_repo: str, *sizes: int, tied: bool = False, note: str = "") -> ModelShape:
    params, layers, hidden, heads, kv_heads, head_dim, intermediate, vocab = sizes
    source = f"huggingface.co/{hf_repo}/blob/main/config.json{note}"
    return ModelShape(
        params,
        layers,
        hidden,
        heads,
        kv_heads,
        head_dim,
        intermediate,
        vocab,
        tied_embeddings=tied,
        name=name,
        source=source,
    )


# fmt: off
_PRESETS = (
    #               params  layers  hidden  heads   kv  head     mlp    vocab
    _preset("smollm2-135m", "HuggingFaceTB/SmolLM2-135M",
               134_515_008,     30,    576,     9,   3,   64,  1_536,  49_152,
            tied=True, note="; 134.5M parameters measured in the project's stack notes"),
    _preset("llama-2-7b", "meta-llama/Llama-2-7b-hf",
             6_738_415_616,     32,   4096,    32,  32,  128, 11_008,  32_000),
    _preset("mistral-7b", "mistralai/Mistral-7B-v0.1",
             7_241_732_096,     32,   4096,    32,   8,  128, 14_336,  32_000),
    _preset("llama-3-8b", "meta-llama/Meta-Llama-3-8B",
             8_030_261_248,     32,   4096,    32,   8,  128, 14_336, 128_256),
    _preset("llama-3-70b", "meta-llama/Meta-Llama-3-70B",
            70_553_706_496,     80,   8192,    64,   8,  128, 28_672, 128_256),
    _preset("gemma-2-9b", "google/gemma-2-9b",
             9_241_705_984,     42,   3584,    16,   8,  256, 14_336, 256_000,
            tied=True),
    _preset("phi-3-mini", "microsoft/Phi-3-mini-4k-instruct",
             3_821_079_552,     32,   3072,    32,  32,   96,  8_192,  32_064),
)
# fmt: on

MODEL_SHAPES: Mapping[str, ModelShape] = MappingProxyType({s.name: s for s in _PRESETS})


def model_shape(name: str) -> ModelShape:
    """The preset shape ``name`` (case and separators ignored); "Did you mean" when unknown."""
    return MODEL_SHAPES[resolve_name(name, MODEL_SHAPES, UnknownModelError)]
