"""Where a trial runs and in which dtype: one decision, used by training, evaluation, merging
and quantization alike.

Policy: ``auto`` means the first CUDA device when there is one, else the CPU. A trial never moves
its model between devices: it is loaded on the trial's device and stays there, through the
intermediate evaluations that drive pruning, the merge and the quantization.

``model.dtype: auto`` is bfloat16 on a CUDA device that supports it
(``torch.cuda.is_bf16_supported``), float16 on an older CUDA device, float32 on the CPU.
float16 is refused on the CPU (its kernels there are slow or missing).

A process works on one CUDA device. ``--device cuda:N`` pins the process to GPU N through
``CUDA_VISIBLE_DEVICES`` before CUDA starts (``pin_process_to_device``), so inside the process it
is ``cuda:0``; transformers' ``Trainer`` otherwise always trains on ``cuda:0`` and spreads a
model over every visible GPU with ``nn.DataParallel``.
"""

from __future__ import annotations

import os
import re
from typing import Literal

from objectives.errors import ObjectiveError

ModelDtype = Literal["auto", "bf16", "fp16", "fp32"]
MODEL_DTYPES: tuple[str, ...] = ("auto", "bf16", "fp16", "fp32")
"""What a study may write as ``model.dtype``."""

TORCH_DTYPE_NAMES: dict[str, str] = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
"""Study dtype name -> ``torch`` attribute name."""

_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


class DeviceError(ObjectiveError, ValueError):
    """A device or dtype that cannot be used on this machine."""


def check_device_name(requested: str) -> str:
    """``requested`` if it is ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; else ``DeviceError``."""
    if not isinstance(requested, str) or not _DEVICE.match(requested):
        raise DeviceError(
            f"Unknown device {requested!r}. Available: auto, cpu, cuda, cuda:N (N a GPU index)."
        )
    return requested


def resolve_device(requested: str | None = "auto", *, cuda_devices: int | None = None) -> str:
    """The torch device a trial runs on: ``cpu`` or ``cuda:N``.

    ``requested`` is ``auto`` (or None), ``cpu``, ``cuda`` or ``cuda:N``. ``cuda_devices`` is the
    number of visible CUDA devices (default: asked from torch; given in tests). Raises
    ``DeviceError`` for a CUDA device this machine does not have.
    """
    requested = check_device_name(requested or "auto")
    count = _cuda_device_count() if cuda_devices is None else cuda_devices
    if requested == "auto":
        return "cuda:0" if count > 0 else "cpu"
    if requested == "cpu":
        return "cpu"
    index = int(requested.partition(":")[2] or 0)
    if count == 0:
        raise DeviceError(f"Device {requested!r} was requested but CUDA is not available here.")
    if index >= count:
        raise DeviceError(
            f"Device {requested!r} was requested but only {count} CUDA device(s) are visible "
            f"(cuda:0..cuda:{count - 1})."
        )
    return f"cuda:{index}"


def resolve_dtype(
    requested: str, device: str, *, bf16_supported: bool | None = None
) -> Literal["bfloat16", "float16", "float32"]:
    """The torch dtype name a model is loaded and trained in on ``device``.

    ``requested`` is a ``MODEL_DTYPES`` name. ``bf16_supported`` says whether the CUDA device
    computes in bfloat16 (default: asked from torch; given in tests). Raises ``DeviceError`` for
    fp16 on the CPU and for bf16 on a CUDA device without it.
    """
    if requested not in MODEL_DTYPES:
        raise DeviceError(
            f"Unknown model dtype {requested!r}. Available: {', '.join(MODEL_DTYPES)}."
        )
    on_cuda = device.startswith("cuda")
    if on_cuda and bf16_supported is None:
        bf16_supported = _bf16_supported(device)
    if requested == "auto":
        if not on_cuda:
            return "float32"
        return "bfloat16" if bf16_supported else "float16"
    if requested == "fp16" and not on_cuda:
        raise DeviceError(
            f"model.dtype 'fp16' needs a CUDA device, but this trial runs on {device!r}; "
            "use fp32, bf16 or auto."
        )
    if requested == "bf16" and on_cuda and not bf16_supported:
        raise DeviceError(
            f"model.dtype 'bf16' needs a GPU that computes in bfloat16, but {device!r} does not; "
            "use fp16, fp32 or auto."
        )
    return TORCH_DTYPE_NAMES[requested]  # type: ignore[return-value]


def pin_process_to_device(requested: str) -> str:
    """Restrict this process to the one GPU ``requested`` names (``cuda:N``), before CUDA starts.

    Sets ``CUDA_VISIBLE_DEVICES`` to GPU N (counted among the GPUs already visible) and returns
    the device the process then uses (``cuda:0``). ``auto``, ``cpu`` and ``cuda`` are returned
    unchanged. Must run before anything asks torch about CUDA; raises ``DeviceError`` otherwise.
    """
    requested = check_device_name(requested)
    if not requested.startswith("cuda:"):
        return requested
    index = int(requested.partition(":")[2])
    import torch

    if torch.cuda.is_initialized():
        if index == 0:
            return requested
        raise DeviceError(
            f"Device {requested!r} must be chosen before CUDA starts in this process; "
            "start a new process with --device."
        )
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        ids = [part.strip() for part in visible.split(",") if part.strip()]
        if index >= len(ids):
            raise DeviceError(
                f"Device {requested!r} was requested but CUDA_VISIBLE_DEVICES={visible!r} "
                f"shows {len(ids)} GPU(s)."
            )
        os.environ["CUDA_VISIBLE_DEVICES"] = ids[index]
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
    return "cuda:0"


def reset_peak_gpu_memory(device: str) -> None:
    """Start counting ``torch.cuda.max_memory_allocated`` afresh (no-op off CUDA)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(device)


def peak_gpu_memory_bytes(device: str) -> int | None:
    """The CUDA allocator's peak on ``device`` since the last reset, in bytes (None off CUDA)."""
    if not device.startswith("cuda"):
        return None
    import torch

    return int(torch.cuda.max_memory_allocated(device))


def _cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _bf16_supported(device: str) -> bool:
    import torch

    with torch.cuda.device(device):
        return bool(torch.cuda.is_bf16_supported())
