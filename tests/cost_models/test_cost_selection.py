"""Cheapest feasible instance: memory fit, filters, ranking by € for the whole job, exclusions."""

from __future__ import annotations

import pytest

from cost_models import (
    Calibration,
    NoFeasibleInstanceError,
    ServingWorkload,
    UnknownGpuError,
    UnknownInstanceError,
    cheapest_instance,
    eur_per_hour,
    gpu_hours,
    gpu_spec,
    model_shape,
    training_workload,
)
from cost_models._memory import GIB


def lora_7b():
    return training_workload(
        model_shape("llama-2-7b"), 3e7, "lora", lora_rank=8, target_modules=["q_proj", "v_proj"]
    )


def test_7b_lora_is_placed_on_an_instance_that_fits(catalog, fx) -> None:
    workload = lora_7b()
    placement = cheapest_instance(catalog, workload, fx)
    chosen = placement.chosen
    need_gib = workload.memory.per_gpu_bytes(chosen.offer.gpu_count) / GIB * 1.1
    assert need_gib <= chosen.offer.gpu_memory_gib
    spec = gpu_spec(chosen.offer.gpu_model)
    expected_hours = gpu_hours(workload.flops, spec, 0.30) / chosen.offer.gpu_count
    assert chosen.hours == pytest.approx(expected_hours)
    assert chosen.cost_eur == pytest.approx(
        expected_hours * eur_per_hour(chosen.offer, "on_demand", fx)
    )
    assert workload.flops == pytest.approx(8.1e17, rel=0.01)


def test_ranking_is_by_whole_job_cost_not_hourly_price(catalog, fx) -> None:
    placement = cheapest_instance(catalog, lora_7b(), fx, runners_up=50)
    costs = [o.cost_eur for o in placement.options]
    assert costs == sorted(costs)
    assert placement.chosen.cost_eur == min(costs)
    assert list(placement.runners_up) == list(placement.options[1:51])
    cheapest_hourly = min(placement.options, key=lambda o: o.eur_per_hour)
    # A slow cheap GPU (an L4 at €0.38/h) loses to a fast one that finishes the job for less.
    assert cheapest_hourly.eur_per_hour < placement.chosen.eur_per_hour
    assert cheapest_hourly.cost_eur > placement.chosen.cost_eur


def test_runners_up_are_distinct_instance_types(catalog, fx) -> None:
    placement = cheapest_instance(catalog, lora_7b(), fx, runners_up=10)
    types = [
        (o.offer.provider, o.offer.instance_type) for o in (placement.chosen, *placement.runners_up)
    ]
    assert len(types) == len(set(types))


@pytest.mark.parametrize("method", ["lora", "full"])
@pytest.mark.parametrize("pricing", ["on_demand", "spot"])
def test_70b_in_bf16_is_never_placed_on_one_80gb_gpu(
    catalog, fx, method: str, pricing: str
) -> None:
    workload = training_workload(model_shape("llama-3-70b"), 3e7, method, dtype="bf16")
    try:
        placement = cheapest_instance(catalog, workload, fx, pricing=pricing, runners_up=100)
    except NoFeasibleInstanceError:
        return
    for option in placement.options:
        assert not (option.offer.gpu_count == 1 and option.offer.gpu_memory_gib <= 80), (
            option.offer.label
        )
    single = [
        e for e in placement.excluded if e.offer.gpu_count == 1 and e.offer.gpu_memory_gib == 80
    ]
    assert single and all(e.kind in ("memory", "spec") for e in single)


def test_70b_bf16_serving_is_never_on_one_80gb_gpu(catalog, fx) -> None:
    workload = ServingWorkload(model_shape("llama-3-70b"), tokens_per_month=1e9)
    placement = cheapest_instance(catalog, workload, fx, runners_up=100)
    assert placement.chosen.offer.total_gpu_memory_gib > 141
    assert all(o.offer.gpu_count > 1 or o.offer.gpu_memory_gib > 141 for o in placement.options)


def test_exclusions_say_why(catalog, fx) -> None:
    placement = cheapest_instance(catalog, lora_7b(), fx, providers=["aws", "azure"])
    by_type = {e.offer.instance_type: e for e in placement.excluded}
    assert by_type["gpu_1x_h100_sxm5"].kind == "filter"
    assert by_type["p3.2xlarge"].kind == "spec" and "V100" in by_type["p3.2xlarge"].reason
    assert by_type["p5e.48xlarge"].kind == "price" and "on-demand" in by_type["p5e.48xlarge"].reason
    assert {o.offer.provider for o in placement.options} <= {"aws", "azure"}
    big = training_workload(model_shape("llama-3-8b"), 1e8, "full")
    excluded = cheapest_instance(catalog, big, fx).excluded_by("memory")
    assert any("GiB per GPU" in e.reason and "has 24 GiB" in e.reason for e in excluded)


def test_filters_validate_names(catalog, fx) -> None:
    with pytest.raises(UnknownGpuError, match="Did you mean: A100-40GB, A100-80GB"):
        cheapest_instance(catalog, lora_7b(), fx, gpus=["A10O"])
    with pytest.raises(UnknownInstanceError, match="Did you mean: p4d.24xlarge"):
        cheapest_instance(catalog, lora_7b(), fx, instance_types=["p4d.24xl"])
    only = cheapest_instance(catalog, lora_7b(), fx, instance_types=["g6.xlarge"], regions=["eu*"])
    assert only.chosen.offer.label == "aws g6.xlarge (eu-central-1)" and not only.runners_up


def test_nothing_fits_explains(catalog, fx) -> None:
    huge = training_workload(model_shape("llama-3-70b"), 3e7, "full")
    with pytest.raises(NoFeasibleInstanceError, match=r"none does: .* by memory") as info:
        cheapest_instance(catalog, huge, fx, instance_types=["Standard_NC24ads_A100_v4"])
    assert info.value.excluded


def test_calibration_changes_the_ranking_inputs(catalog, fx) -> None:
    workload = lora_7b()
    slow_h100 = Calibration().calibrated(
        "H100", "lora", 500, workload.params, adapter_params=workload.adapter_params
    )
    placement = cheapest_instance(catalog, workload, fx, gpus=["H100"], calibration=slow_h100)
    assert placement.chosen.utilization == pytest.approx(slow_h100["H100"])
    assert placement.chosen.utilization_source.startswith("measured")
