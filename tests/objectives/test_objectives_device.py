"""The one device/dtype decision (objectives.device): pure rules, checked without a GPU."""

from __future__ import annotations

import pytest

from objectives.device import (
    DeviceError,
    check_device_name,
    pin_process_to_device,
    resolve_device,
    resolve_dtype,
)


@pytest.mark.parametrize(
    ("requested", "gpus", "expected"),
    [
        ("auto", 0, "cpu"),
        (None, 0, "cpu"),
        ("auto", 2, "cuda:0"),
        ("cpu", 2, "cpu"),
        ("cuda", 1, "cuda:0"),
        ("cuda:1", 2, "cuda:1"),
    ],
)
def test_resolve_device(requested: str | None, gpus: int, expected: str) -> None:
    assert resolve_device(requested, cuda_devices=gpus) == expected


@pytest.mark.parametrize(
    ("requested", "gpus", "message"),
    [
        ("cuda", 0, "CUDA is not available"),
        ("cuda:2", 2, "only 2 CUDA device(s) are visible (cuda:0..cuda:1)"),
        ("gpu", 1, "Unknown device 'gpu'. Available: auto, cpu, cuda, cuda:N"),
        ("cuda:x", 1, "Unknown device"),
    ],
)
def test_resolve_device_refuses_what_is_not_here(requested: str, gpus: int, message: str) -> None:
    with pytest.raises(DeviceError) as info:
        resolve_device(requested, cuda_devices=gpus)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("requested", "device", "bf16", "expected"),
    [
        ("auto", "cpu", None, "float32"),
        ("auto", "cuda:0", True, "bfloat16"),
        ("auto", "cuda:0", False, "float16"),
        ("fp32", "cuda:0", True, "float32"),
        ("bf16", "cpu", None, "bfloat16"),
        ("bf16", "cuda:1", True, "bfloat16"),
        ("fp16", "cuda:0", False, "float16"),
    ],
)
def test_resolve_dtype(requested: str, device: str, bf16: bool | None, expected: str) -> None:
    assert resolve_dtype(requested, device, bf16_supported=bf16) == expected


@pytest.mark.parametrize(
    ("requested", "device", "bf16", "message"),
    [
        ("fp16", "cpu", None, "model.dtype 'fp16' needs a CUDA device"),
        ("bf16", "cuda:0", False, "model.dtype 'bf16' needs a GPU that computes in bfloat16"),
        ("float32", "cpu", None, "Unknown model dtype 'float32'. Available: auto, bf16, fp16"),
    ],
)
def test_resolve_dtype_refuses(
    requested: str, device: str, bf16: bool | None, message: str
) -> None:
    with pytest.raises(DeviceError, match=message):
        resolve_dtype(requested, device, bf16_supported=bf16)


def test_check_device_name() -> None:
    assert check_device_name("cuda:12") == "cuda:12"
    with pytest.raises(DeviceError):
        check_device_name("mps")


def test_pinning_a_gpu_restricts_the_process_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    if torch.cuda.is_initialized():
        pytest.skip("CUDA already started in this process")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert pin_process_to_device("cuda:3") == "cuda:0"
    import os

    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    # counted among the GPUs already visible
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert pin_process_to_device("cuda:1") == "cuda:0"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "6"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    with pytest.raises(DeviceError, match="shows 2 GPU"):
        pin_process_to_device("cuda:2")
    assert pin_process_to_device("auto") == "auto"
    assert pin_process_to_device("cpu") == "cpu"
