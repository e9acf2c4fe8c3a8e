"""benchmarks/gpu_check.py: GPU names mapped onto the cost model's table; without CUDA it says so
and exits 0; on a GPU it runs the real check (marked gpu)."""

from __future__ import annotations

import re

import pytest

from benchmarks import gpu_check
from cost_models import load_gpu_specs

KNOWN = list(load_gpu_specs())


@pytest.mark.parametrize(
    ("device_name", "expected"),
    [
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA H100 PCIe", "H100-PCIe"),
        ("NVIDIA H100 NVL", "H100-NVL"),
        ("NVIDIA H200", "H200"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
        ("NVIDIA A100 80GB PCIe", "A100-80GB"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA A10G", "A10G"),
        ("NVIDIA A10", "A10"),
        ("Tesla T4", "T4"),
        ("NVIDIA GeForce RTX 4090", None),
    ],
)
def test_gpu_names_map_onto_the_spec_table(device_name: str, expected: str | None) -> None:
    assert gpu_check.match_gpu(device_name, KNOWN) == expected


def test_predicted_throughput_is_the_cost_models(capsys: pytest.CaptureFixture[str]) -> None:
    import cost_models

    shape = cost_models.model_shape("llama-2-7b")
    adapter = cost_models.lora_adapter_params(shape, 16, gpu_check.LORA_TARGETS)
    pred = gpu_check.predict(cost_models, "H100", shape, "lora", adapter, 1024, 4, False)
    per_token = cost_models.training_flops_per_token(shape.params, "lora", adapter)
    assert pred.tokens_per_second == pytest.approx(989e12 * pred.mfu / per_token)
    assert pred.mfu == cost_models.default_mfu("lora", "H100")


def test_without_cuda_it_says_so_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert gpu_check.main([]) == 0
    assert "no CUDA device here" in capsys.readouterr().out


@pytest.mark.gpu
def test_gpu_check_runs_on_a_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        gpu_check.main(["--steps", "5", "--warmup", "2", "--seq-len", "256", "--batch", "1"]) == 0
    )
    out = capsys.readouterr().out
    assert re.search(r"ratio \(measured / predicted tokens per second\): lora \d", out), out
