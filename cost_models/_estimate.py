"""Training compute: FLOPs of a fine-tuning run and the GPU-hours they take.

FLOPs per token (EleutherAI "Transformer Math 101", reference cloud-costs.md §5):

* full fine-tuning: 6·N (forward 2·N, backward 4·N);
* LoRA / QLoRA: 4·N for the frozen base (no weight gradients) plus 6·A for the A trainable
  adapter parameters;
* activation recomputation (``recompute=True``) adds one more forward pass: +2·N (+2·A).

These are model FLOPs, the basis of MFU. Attention's sequence-length term is left out, as in the
reference's formulas. GPU-hours = FLOPs / (peak bf16 FLOP/s · MFU · 3600).
"""

from __future__ import annotations

import math

from cost_models._gpus import GpuSpec
from cost_models._memory import TRAINING_METHODS, TrainingMethod
from cost_models.errors import InvalidInputError


def training_flops_per_token(
    params: float, method: TrainingMethod, adapter_params: float = 0.0, recompute: bool = False
) -> float:
    """FLOPs to train on one token with ``method`` (see module docstring)."""
    _check_params(params, adapter_params)
    if method == "full":
        return (8.0 if recompute else 6.0) * params
    if method in ("lora", "qlora"):
        base = (6.0 if recompute else 4.0) * params
        return base + (8.0 if recompute else 6.0) * adapter_params
    raise InvalidInputError(
        f"A training method must be one of {', '.join(TRAINING_METHODS)}, but got {method!r}."
    )


def training_flops(
    params: float,
    tokens: float,
    method: TrainingMethod,
    adapter_params: float = 0.0,
    recompute: bool = False,
) -> float:
    """FLOPs to fine-tune ``params`` parameters on ``tokens`` tokens (epochs included)."""
    if not (math.isfinite(tokens) and tokens >= 0):
        raise InvalidInputError(f"A token count must be >= 0, but got {tokens!r}.")
    return training_flops_per_token(params, method, adapter_params, recompute) * tokens


def gpu_hours(flops: float, gpu: GpuSpec, mfu: float) -> float:
    """Hours one ``gpu`` needs for ``flops`` at model FLOPs utilization ``mfu``."""
    if not (0 < mfu <= 1):
        raise InvalidInputError(f"An MFU must be in (0, 1], but got {mfu!r}.")
    if not (math.isfinite(flops) and flops >= 0):
        raise InvalidInputError(f"A FLOP count must be >= 0, but got {flops!r}.")
    return flops / (gpu.peak_flops_per_second * mfu * 3600.0)


def _check_params(params: float, adapter_params: float) -> None:
    if not (math.isfinite(params) and params > 0):
        raise InvalidInputError(f"A parameter count must be > 0, but got {params!r}.")
    if not (math.isfinite(adapter_params) and adapter_params >= 0):
        raise InvalidInputError(f"Adapter parameters must be >= 0, but got {adapter_params!r}.")
