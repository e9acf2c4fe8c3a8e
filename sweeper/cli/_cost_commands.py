"""Cost-model CLI commands: ``sweeper prices list``, ``sweeper estimate``, ``sweeper commit``.

Every figure printed says its currency; every report ends with the exchange rate and its date,
the price dates of the offers shown, and the catalog version and hash. ``--json`` prints the same
content as one JSON document for scripts. User mistakes raise ``CostModelError`` subclasses, which
``sweeper.cli.main`` turns into one line and exit code 2.
"""

import datetime as dt
import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.console import Console
from rich.table import Table

from cost_models import (
    DEFAULT_PRICE_DECLINE_PER_YEAR,
    DEFAULT_RESERVED_DISCOUNT_1Y,
    DEFAULT_RESERVED_DISCOUNT_3Y,
    HOURS_PER_MONTH,
    MAX_HORIZON_MONTHS,
    OPTION_LABELS,
    PRICING_LABELS,
    PRICING_MODELS,
    Catalog,
    CommitmentComparison,
    Dtype,
    FxRates,
    MemoryEstimate,
    ModelShape,
    Offer,
    Placement,
    PricedOption,
    PricingModel,
    ServingWorkload,
    TrainingMethod,
    TrainingWorkload,
    approximate_shape,
    cheapest_instance,
    compare_commitments,
    default_mfu,
    eur_per_hour,
    gpu_hours,
    gpu_spec,
    load_catalog,
    load_fx_rates,
    load_gpu_specs,
    model_shape,
    training_flops,
    training_workload,
)
from cost_models._names import resolve_name
from cost_models._utilization import default_utilization
from cost_models.errors import InvalidInputError, UnknownGpuError
from sweeper.cli._apps import app, prices_app

MISSING = "–"


class Method(str, Enum):
    lora = "lora"
    qlora = "qlora"
    full = "full"
    serve = "serve"


class Pricing(str, Enum):
    on_demand = "on_demand"
    spot = "spot"
    reserved_1y = "reserved_1y"
    reserved_3y = "reserved_3y"


class WeightDtype(str, Enum):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"
    int8 = "int8"
    int4 = "int4"
    nf4 = "nf4"


# Options shared by the commands.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="A schema-v1 catalog CSV, or a folder of them (default: the bundled catalogs).",
    ),
]
FxUsdOpt = Annotated[
    float | None,
    typer.Option(
        "--fx-usd-per-eur", help="Override the exchange rate: US dollars per euro (dated today)."
    ),
]
FxFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--fx-file",
        help="An ECB eurofxref XML file to take rates from (default: the bundled ECB rate).",
    ),
]
ProviderOpt = Annotated[
    list[str] | None, typer.Option("--provider", help="Only this provider (repeatable).")
]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--region", help="Only this region or pattern, e.g. eu-central-1 or 'eu*' (repeatable)."
    ),
]


# --------------------------------------------------------------------------- prices list


@prices_app.command("list")
def prices_list(
    gpu: Annotated[
        list[str] | None, typer.Option("--gpu", help="Only this GPU model (repeatable).")
    ] = None,
    provider: ProviderOpt = None,
    region: RegionOpt = None,
    notes: Annotated[
        bool, typer.Option("--notes", help="Also print each offer's source and notes.")
    ] = False,
    catalog_path: CatalogOpt = None,
    fx_usd_per_eur: FxUsdOpt = None,
    fx_file: FxFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """GPU instance prices in euros: on-demand, spot and reserved per hour, on-demand per month."""
    fx = _load_fx(fx_usd_per_eur, fx_file)
    catalog = load_catalog(catalog_path)
    offers = catalog.select(
        providers=provider, regions=region, gpus=gpu, known_gpus=load_gpu_specs()
    )
    offers.sort(key=lambda o: (o.gpu_model, o.gpu_count, _sort_price(o, fx), o.provider, o.region))
    rows = [_offer_json(o, fx) for o in offers]
    if as_json:
        _print_json(
            {
                "fx": _fx_json(fx),
                "catalog": _catalog_json(catalog),
                "hours_per_month": HOURS_PER_MONTH,
                "offers": rows,
            }
        )
        return

    console = _console()
    if not offers:
        console.print("No catalog offer matches these filters.")
        _print_footer(console, fx, catalog, offers)
        return
    table = Table(
        title=f"GPU instance prices in euros ({len(offers)} offers)", title_justify="left"
    )
    _add_columns(
        table,
        ["Provider", "Instance", "Region", "GPUs"],
        ["GPU mem GiB", "vCPU", "RAM GiB", "On-demand €/h", "Spot €/h", "1-yr res. €/h"],
        ["3-yr res. €/h", "On-demand €/month"],
        ["Price date"],
    )
    for offer, row in zip(offers, rows, strict=True):
        table.add_row(
            offer.provider,
            offer.instance_type,
            offer.region,
            f"{offer.gpu_count}× {offer.gpu_model}",
            f"{offer.total_gpu_memory_gib:g}",
            _num(offer.vcpus),
            _num(offer.ram_gib),
            _money(row["on_demand_eur_per_hour"], 4),
            _money(row["spot_eur_per_hour"], 4),
            _money(row["reserved_1y_eur_per_hour"], 4),
            _money(row["reserved_3y_eur_per_hour"], 4),
            _money(row["on_demand_eur_per_month"], 0),
            offer.price_date,
        )
    console.print(table)
    if notes:
        for offer in offers:
            console.print(
                f"[bold]{offer.label}[/bold]: {offer.notes} Source: {offer.source}.",
                highlight=False,
            )
    console.print(
        f"€/month = on-demand €/h × {HOURS_PER_MONTH:g} h. {MISSING} = no such price in the "
        "catalog (--notes says why). Reserved = effective hourly rate with upfront folded in.",
        highlight=False,
    )
    _print_footer(console, fx, catalog, offers)


# --------------------------------------------------------------------------- estimate


@app.command("estimate")
def estimate(
    tokens: Annotated[
        float,
        typer.Option(
            "--tokens",
            help="Training tokens (all epochs), or for --method serve generated tokens per month.",
        ),
    ],
    method: Annotated[
        Method, typer.Option("--method", help="lora, qlora, full fine-tuning, or serve.")
    ],
    params: Annotated[
        float | None, typer.Option("--params", help="Model parameters, e.g. 7e9.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A preset model shape (e.g. llama-3-8b) instead of, or to check, --params.",
        ),
    ] = None,
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="Only instances with this GPU model.")
    ] = None,
    instance: Annotated[
        str | None, typer.Option("--instance", help="Only this instance type.")
    ] = None,
    seq_len: Annotated[
        int,
        typer.Option(
            "--seq-len",
            min=1,
            help="Tokens per sequence (training) or context length (serving).",
        ),
    ] = 2048,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            min=1,
            help="Sequences per GPU step (training) or concurrent sequences (serving).",
        ),
    ] = 1,
    provider: ProviderOpt = None,
    region: RegionOpt = None,
    pricing: Annotated[
        Pricing, typer.Option("--pricing", help="Price the job at this pricing model.")
    ] = Pricing.on_demand,
    lora_rank: Annotated[int, typer.Option("--lora-rank", min=1, help="LoRA rank r.")] = 16,
    target_modules: Annotated[
        str,
        typer.Option("--target-modules", help="'all-linear' or a comma list, e.g. q_proj,v_proj."),
    ] = "all-linear",
    dtype: Annotated[
        WeightDtype | None,
        typer.Option("--dtype", help="Stored weight dtype (default: bf16; nf4 for qlora)."),
    ] = None,
    kv_dtype: Annotated[
        WeightDtype, typer.Option("--kv-dtype", help="KV-cache dtype (serving).")
    ] = WeightDtype.bf16,
    checkpointing: Annotated[
        bool,
        typer.Option(
            "--checkpointing/--no-checkpointing", help="Activation checkpointing (training memory)."
        ),
    ] = True,
    mfu: Annotated[
        float | None,
        typer.Option("--mfu", help="Use this MFU on every GPU instead of the defaults."),
    ] = None,
    safety_margin: Annotated[
        float, typer.Option("--safety-margin", help="Extra memory share on top of the estimate.")
    ] = 0.1,
    runners_up: Annotated[
        int, typer.Option("--runners-up", min=0, help="How many runners-up to show.")
    ] = 5,
    catalog_path: CatalogOpt = None,
    fx_usd_per_eur: FxUsdOpt = None,
    fx_file: FxFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """FLOPs, memory, GPU-hours, the cheapest instance that fits and the job's cost in euros."""
    if gpu and instance:
        raise InvalidInputError(
            "Give --gpu or --instance, not both: an instance type fixes its GPU."
        )
    fx = _load_fx(fx_usd_per_eur, fx_file)
    catalog = load_catalog(catalog_path)
    specs = load_gpu_specs()
    if gpu:
        gpu = gpu_spec(gpu, specs).name
    shape = _shape(params, model)
    workload = _workload(
        method,
        shape,
        tokens,
        lora_rank,
        target_modules,
        dtype,
        kv_dtype,
        seq_len,
        batch,
        checkpointing,
        mfu,
    )
    placement = cheapest_instance(
        catalog,
        workload,
        fx,
        pricing=cast(PricingModel, pricing.value),
        providers=provider,
        regions=region,
        gpus=[gpu] if gpu else None,
        instance_types=[instance] if instance else None,
        safety_margin=safety_margin,
        gpu_specs=specs,
        runners_up=runners_up,
    )
    if isinstance(workload, TrainingWorkload):
        result = _training_json(
            workload,
            shape,
            method.value,
            lora_rank,
            target_modules,
            seq_len,
            batch,
            checkpointing,
            specs,
        )
    else:
        result = _serving_json(workload)
    result.update(
        placement=_placement_json(placement),
        fx=_fx_json(fx),
        catalog=_catalog_json(catalog),
        price_dates=_shown_dates(placement),
    )
    if as_json:
        _print_json(result)
        return
    console = _console()
    if isinstance(workload, TrainingWorkload):
        _render_training(console, workload, result)
    else:
        _render_serving(console, workload, result)
    _render_placement(console, placement, serving=isinstance(workload, ServingWorkload))
    shown = [placement.chosen.offer, *(o.offer for o in placement.runners_up)]
    _print_footer(console, fx, catalog, shown)


# --------------------------------------------------------------------------- commit


@app.command("commit")
def commit(
    hours_per_month: Annotated[
        float,
        typer.Option(
            "--hours-per-month", help="Hours a month the instance is busy (730 = around the clock)."
        ),
    ],
    months: Annotated[
        int,
        typer.Option(
            "--months",
            min=1,
            help=f"Horizon in months (1 to {MAX_HORIZON_MONTHS}).",
        ),
    ],
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="GPU model; the cheapest matching instance is used.")
    ] = None,
    instance: Annotated[str | None, typer.Option("--instance", help="Instance type.")] = None,
    gpu_count: Annotated[
        int | None,
        typer.Option("--gpu-count", min=1, help="GPUs per instance (default: the fewest offered)."),
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Provider.")] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="Region (default: the cheapest on-demand one).")
    ] = None,
    reserved_discount: Annotated[
        float | None,
        typer.Option(
            "--reserved-discount",
            "--reserved-discount-3y",
            help="3-year reservation discount off on-demand, e.g. 0.7 for 70% (default: the "
            f"catalog's reserved price, else {DEFAULT_RESERVED_DISCOUNT_3Y:.0%}).",
        ),
    ] = None,
    reserved_discount_1y: Annotated[
        float | None,
        typer.Option(
            "--reserved-discount-1y",
            help="1-year reservation discount (default: the catalog's reserved price, else "
            f"{DEFAULT_RESERVED_DISCOUNT_1Y:.0%}).",
        ),
    ] = None,
    price_decline_per_year: Annotated[
        float,
        typer.Option(
            "--price-decline-per-year",
            help="Yearly fall of the market price of equivalent compute, e.g. 0.25.",
        ),
    ] = DEFAULT_PRICE_DECLINE_PER_YEAR,
    interruptible: Annotated[
        bool, typer.Option("--interruptible", help="The workload checkpoints and may run on spot.")
    ] = False,
    interruptions_per_hour: Annotated[
        float, typer.Option("--interruptions-per-hour", help="Spot interruptions per running hour.")
    ] = 0.0,
    checkpoint_interval_hours: Annotated[
        float, typer.Option("--checkpoint-interval-hours", help="Hours between checkpoints (spot).")
    ] = 1.0,
    restart_hours: Annotated[
        float,
        typer.Option("--restart-hours", help="Hours to restart after an interruption (spot)."),
    ] = 0.25,
    catalog_path: CatalogOpt = None,
    fx_usd_per_eur: FxUsdOpt = None,
    fx_file: FxFileOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """On-demand vs spot vs 1- and 3-year reservations over a horizon, as market prices fall."""
    fx = _load_fx(fx_usd_per_eur, fx_file)
    catalog = load_catalog(catalog_path)
    offer = _commit_offer(catalog, gpu, instance, gpu_count, provider, region)
    on_demand_eur = eur_per_hour(offer, "on_demand", fx)
    spot_eur = _optional_eur(offer, "spot", fx)
    if spot_eur is not None and spot_eur > on_demand_eur:
        spot_eur = None  # a spot price above on-demand is a data error; such spot is never bought
    comparison = compare_commitments(
        on_demand_eur,
        hours_per_month=hours_per_month,
        months=months,
        eur_per_hour_spot=spot_eur,
        interruption_rate_per_hour=interruptions_per_hour,
        checkpoint_interval_hours=checkpoint_interval_hours,
        restart_hours=restart_hours,
        interruptible=interruptible,
        eur_per_hour_reserved_1y=None
        if reserved_discount_1y is not None
        else _optional_eur(offer, "reserved_1y", fx),
        eur_per_hour_reserved_3y=None
        if reserved_discount is not None
        else _optional_eur(offer, "reserved_3y", fx),
        reserved_discount_1y=DEFAULT_RESERVED_DISCOUNT_1Y
        if reserved_discount_1y is None
        else reserved_discount_1y,
        reserved_discount_3y=DEFAULT_RESERVED_DISCOUNT_3Y
        if reserved_discount is None
        else reserved_discount,
        price_decline_per_year=price_decline_per_year,
        hours_in_month=HOURS_PER_MONTH,
    )
    sources = {
        "reserved_1y": _discount_source(
            reserved_discount_1y, "--reserved-discount-1y", offer.reserved_1y_per_hour
        ),
        "reserved_3y": _discount_source(
            reserved_discount, "--reserved-discount", offer.reserved_3y_per_hour
        ),
    }
    result = _commit_json(comparison, offer, on_demand_eur, sources)
    result.update(fx=_fx_json(fx), catalog=_catalog_json(catalog), price_dates=[offer.price_date])
    if as_json:
        _print_json(result)
        return
    console = _console()
    _render_commit(console, comparison, offer, on_demand_eur, sources)
    _print_footer(console, fx, catalog, [offer])


# --------------------------------------------------------------------------- inputs


def _load_fx(usd_per_eur: float | None, fx_file: Path | None) -> FxRates:
    if usd_per_eur is not None and fx_file is not None:
        raise InvalidInputError("Give --fx-usd-per-eur or --fx-file, not both.")
    if usd_per_eur is not None:
        return FxRates.fixed(
            usd_per_eur=usd_per_eur, date=dt.date.today(), source="--fx-usd-per-eur override"
        )
    return load_fx_rates(fx_file)


def _shape(params: float | None, model: str | None) -> ModelShape:
    if model:
        shape = model_shape(model)
        if params is not None and abs(params / shape.params - 1) > 0.1:
            raise InvalidInputError(
                f"--params must agree with --model within 10%, but {model} has {shape.params:.3g} "
                f"parameters and --params is {params:.3g}; give one of them."
            )
        return shape
    if params is None:
        raise InvalidInputError(
            "A model size is needed: give --params (e.g. 7e9) or --model (e.g. llama-3-8b)."
        )
    return approximate_shape(params)


def _workload(
    method: Method,
    shape: ModelShape,
    tokens: float,
    lora_rank: int,
    target_modules: str,
    dtype: WeightDtype | None,
    kv_dtype: WeightDtype,
    seq_len: int,
    batch: int,
    checkpointing: bool,
    mfu: float | None,
) -> TrainingWorkload | ServingWorkload:
    if method is Method.serve:
        return ServingWorkload(
            shape=shape,
            tokens_per_month=tokens,
            weight_dtype=cast(Dtype, (dtype or WeightDtype.bf16).value),
            kv_dtype=cast(Dtype, kv_dtype.value),
            seq_len=seq_len,
            batch=batch,
        )
    modules: list[str] | Literal["all-linear"] = "all-linear"
    if target_modules != "all-linear":
        modules = [m.strip() for m in target_modules.split(",") if m.strip()]
    return training_workload(
        shape,
        tokens,
        cast(TrainingMethod, method.value),
        lora_rank=lora_rank,
        target_modules=modules,
        dtype=cast(Dtype, dtype.value) if dtype else None,
        seq_len=seq_len,
        batch=batch,
        checkpointing=checkpointing,
        mfu=mfu,
    )


def _commit_offer(
    catalog: Catalog,
    gpu: str | None,
    instance: str | None,
    gpu_count: int | None,
    provider: str | None,
    region: str | None,
) -> Offer:
    if bool(gpu) == bool(instance):
        raise InvalidInputError("Give exactly one of --gpu or --instance.")
    if instance:
        offer = catalog.offer(instance, provider=provider, region=region)
        if offer.on_demand_per_hour is None:
            raise InvalidInputError(
                f"A commitment comparison needs an on-demand price, but {offer.label} has none "
                f"({offer.notes})."
            )
        return offer
    names = set(catalog.gpu_models) | set(load_gpu_specs())
    gpu_name = resolve_name(gpu or "", names, UnknownGpuError)
    offers = catalog.select(
        providers=[provider] if provider else None,
        regions=[region] if region else None,
        gpus=[gpu_name],
        known_gpus=names,
    )
    if gpu_count is not None:
        offers = [o for o in offers if o.gpu_count == gpu_count]
    priced = [o for o in offers if o.on_demand_per_hour is not None]
    if not priced:
        where = " ".join(x for x in (provider, region) if x)
        counts = sorted({o.gpu_count for o in offers})
        have = f" (offered with {', '.join(map(str, counts))} GPUs)" if counts and gpu_count else ""
        at = f" at {where}" if where else ""
        size = f" with {gpu_count} GPUs" if gpu_count else ""
        raise InvalidInputError(
            f"A commitment comparison needs an on-demand {gpu_name} offer{at}{size}, "
            f"but the catalog has none{have}."
        )
    fewest = min(o.gpu_count for o in priced)
    count = gpu_count or fewest
    same_size = [o for o in priced if o.gpu_count == count]
    return min(same_size, key=lambda o: (o.on_demand_per_hour or 0.0, o.provider, o.region))


def _optional_eur(offer: Offer, pricing: PricingModel, fx: FxRates) -> float | None:
    price = offer.price_per_hour(pricing)
    return None if price is None else fx.to_eur(price, offer.currency)


def _discount_source(flag_value: float | None, flag: str, catalog_price: float | None) -> str:
    if flag_value is not None:
        return f"{flag} {flag_value:.0%}"
    if catalog_price is not None:
        return "catalog reserved price"
    return "default discount (no catalog price)"


# --------------------------------------------------------------------------- JSON builders


def _fx_json(fx: FxRates) -> dict[str, Any]:
    return {
        "usd_per_eur": fx.rate("USD"),
        "date": fx.date.isoformat(),
        "source": fx.source,
        "describe": fx.describe(),
    }


def _catalog_json(catalog: Catalog) -> dict[str, Any]:
    return {
        "schema_version": catalog.version,
        "sha256": catalog.sha256,
        "files": [p.name for p in catalog.paths],
    }


def _offer_json(offer: Offer, fx: FxRates) -> dict[str, Any]:
    row: dict[str, Any] = {
        "provider": offer.provider,
        "instance_type": offer.instance_type,
        "region": offer.region,
        "gpu_model": offer.gpu_model,
        "gpu_count": offer.gpu_count,
        "gpu_memory_gib": offer.gpu_memory_gib,
        "total_gpu_memory_gib": offer.total_gpu_memory_gib,
        "vcpus": offer.vcpus,
        "ram_gib": offer.ram_gib,
        "currency": offer.currency,
    }
    for pricing in PRICING_MODELS:
        row[f"{pricing}_per_hour"] = offer.price_per_hour(pricing)
    for pricing in PRICING_MODELS:
        row[f"{pricing}_eur_per_hour"] = _optional_eur(offer, pricing, fx)
    od = row["on_demand_eur_per_hour"]
    row["on_demand_eur_per_month"] = None if od is None else od * HOURS_PER_MONTH
    row.update(price_date=offer.price_date, source=offer.source, notes=offer.notes)
    return row


def _memory_json(memory: MemoryEstimate) -> dict[str, float]:
    return {f"{name}_gib": value for name, value in memory.breakdown_gib().items()}


def _option_json(option: PricedOption) -> dict[str, Any]:
    o = option.offer
    data = {
        "provider": o.provider,
        "instance_type": o.instance_type,
        "region": o.region,
        "gpu_model": o.gpu_model,
        "gpu_count": o.gpu_count,
        "pricing": option.pricing,
        "eur_per_hour": option.eur_per_hour,
        "hours": option.hours,
        "gpu_hours": option.gpu_hours,
        "cost_eur": option.cost_eur,
        "utilization": option.utilization,
        "utilization_source": option.utilization_source,
        "price_date": o.price_date,
    }
    data.update(option.detail)
    return data


def _placement_json(p: Placement) -> dict[str, Any]:
    return {
        "pricing": p.pricing,
        "safety_margin": p.safety_margin,
        "chosen": _option_json(p.chosen),
        "runners_up": [_option_json(o) for o in p.runners_up],
        "excluded": [
            {
                "provider": e.offer.provider,
                "instance_type": e.offer.instance_type,
                "region": e.offer.region,
                "kind": e.kind,
                "reason": e.reason,
            }
            for e in p.excluded
        ],
    }


def _training_json(
    w: TrainingWorkload,
    shape: Any,
    method: str,
    rank: int,
    modules: str,
    seq_len: int,
    batch: int,
    checkpointing: bool,
    specs: dict[str, Any],
) -> dict[str, Any]:
    by_gpu = []
    for spec in sorted(specs.values(), key=lambda s: -(s.bf16_tflops or 0)):
        if spec.bf16_tflops is None:
            continue
        mfu = w.mfu if w.mfu is not None else default_mfu(method, spec.name)
        by_gpu.append(
            {
                "gpu": spec.name,
                "bf16_tflops": spec.bf16_tflops,
                "mfu": mfu,
                "gpu_hours": gpu_hours(w.flops, spec, mfu),
            }
        )
    return {
        "workload": {
            "method": method,
            "model": shape.name,
            "params": w.params,
            "tokens": w.tokens,
            "adapter_params": w.adapter_params,
            "lora_rank": None if method == "full" else rank,
            "target_modules": None if method == "full" else modules,
            "seq_len": seq_len,
            "batch": batch,
            "checkpointing": checkpointing,
        },
        "flops": w.flops,
        "flops_formula": "6·N·D" if method == "full" else "4·N·D + 6·A·D",
        "hardware_flops_with_recompute": training_flops(
            w.params, w.tokens, w.method, w.adapter_params, recompute=True
        ),
        "memory": _memory_json(w.memory),
        "mfu_default_source": default_utilization(method, "*").source,
        "gpu_hours_by_gpu": by_gpu,
    }


def _serving_json(w: ServingWorkload) -> dict[str, Any]:
    return {
        "workload": {
            "method": "serve",
            "model": w.shape.name,
            "params": w.shape.params,
            "tokens_per_month": w.tokens_per_month,
            "weight_dtype": w.weight_dtype,
            "kv_dtype": w.kv_dtype,
            "seq_len": w.seq_len,
            "batch": w.batch,
        },
        "flops_per_token": w.flops_per_token,
        "memory": _memory_json(w.memory),
        "mbu_default_source": default_utilization("decode", "*").source,
    }


def _commit_json(
    c: CommitmentComparison, offer: Offer, on_demand_eur: float, sources: dict[str, str]
) -> dict[str, Any]:
    return {
        "offer": {
            "provider": offer.provider,
            "instance_type": offer.instance_type,
            "region": offer.region,
            "gpu_model": offer.gpu_model,
            "gpu_count": offer.gpu_count,
            "price_date": offer.price_date,
        },
        "hours_per_month": c.hours_per_month,
        "months": c.months,
        "hours_in_month": c.hours_in_month,
        "utilization": c.utilization,
        "price_decline_per_year": c.price_decline_per_year,
        "market_factor_sum": c.market_factor_sum,
        "on_demand_eur_per_month_now": on_demand_eur * c.hours_per_month,
        "on_demand_eur_per_month_around_the_clock_now": on_demand_eur * c.hours_in_month,
        "options": [
            {
                "option": o.option,
                "eur_per_hour_now": o.eur_per_hour_now,
                "total_eur": None if math.isinf(o.total_eur) else o.total_eur,
                "hours_billed": None if math.isinf(o.hours_billed) else o.hours_billed,
                "committed_beyond_horizon_eur": o.committed_beyond_horizon_eur,
                "break_even_utilization": o.break_even_utilization,
                "eligible": o.eligible,
                "price_source": sources.get(o.option, o.price_source),
                "note": o.note,
            }
            for o in c.options
        ],
        "recommendation": c.recommendation,
        "reason": c.reason,
    }


# --------------------------------------------------------------------------- rendering


def _console() -> Console:
    # Wide when not a terminal (pipes, tests) so tables are never folded into unreadable columns.
    return Console(width=None if sys.stdout.isatty() else 220, highlight=False)


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False))


def _print_footer(console: Console, fx: FxRates, catalog: Catalog, offers: list[Offer]) -> None:
    dates = catalog.price_dates(offers) if offers else []
    console.print(
        f"Money in euros at {fx.describe()}. Price dates: {', '.join(dates) or 'none shown'}. "
        f"Prices from {catalog.describe()}.",
        highlight=False,
    )


def _render_training(console: Console, w: TrainingWorkload, r: dict[str, Any]) -> None:
    work = r["workload"]
    adapters = (
        ""
        if work["method"] == "full"
        else (
            f"; LoRA r={work['lora_rank']} on {work['target_modules']}: "
            f"{work['adapter_params']:,.0f} adapter parameters"
        )
    )
    console.print(f"[bold]{w.describe()}[/bold] ({work['params']:.3g} parameters{adapters})")
    if work["model"].startswith("approx-"):
        console.print(
            "  Shape approximated from --params (Llama-like proportions); --model gives an exact "
            "one."
        )
    console.print(
        f"Compute: {r['flops']:.3g} FLOPs = {r['flops_formula']} (model FLOPs; "
        f"{r['hardware_flops_with_recompute']:.3g} hardware FLOPs when checkpointing recomputes "
        "activations)"
    )
    mem = r["memory"]
    parts = ", ".join(
        f"{k[:-4].replace('_', ' ')} {v:.1f}" for k, v in mem.items() if k != "total_gib"
    )
    console.print(
        f"Memory: {mem['total_gib']:.1f} GiB ({parts}) at seq {work['seq_len']} × batch "
        f"{work['batch']} per GPU, {'with' if work['checkpointing'] else 'without'} activation "
        "checkpointing"
    )
    table = Table(title="GPU-hours on one GPU", title_justify="left")
    for header in ("GPU", "bf16 TFLOP/s", "MFU", "GPU-hours"):
        table.add_column(header, justify="left" if header == "GPU" else "right")
    for row in r["gpu_hours_by_gpu"]:
        table.add_row(
            row["gpu"], f"{row['bf16_tflops']:g}", f"{row['mfu']:.2f}", f"{row['gpu_hours']:.2f}"
        )
    console.print(table)
    mfu_note = (
        "given by --mfu"
        if w.mfu is not None
        else f"defaults per method, source: {r['mfu_default_source']}"
    )
    console.print(f"MFU: {mfu_note}.")


def _render_serving(console: Console, w: ServingWorkload, r: dict[str, Any]) -> None:
    work = r["workload"]
    console.print(f"[bold]{w.describe()}[/bold], context {work['seq_len']} × batch {work['batch']}")
    mem = r["memory"]
    parts = ", ".join(
        f"{k[:-4].replace('_', ' ')} {v:.1f}" for k, v in mem.items() if k != "total_gib"
    )
    console.print(
        f"Memory: {mem['total_gib']:.1f} GiB ({parts}); compute {r['flops_per_token']:.3g} FLOPs "
        "per token (2·N)"
    )
    console.print(
        f"Decode rate: memory-bandwidth bound × MBU default (source: {r['mbu_default_source']})."
    )


def _render_placement(console: Console, p: Placement, *, serving: bool) -> None:
    c = p.chosen
    o = c.offer
    label = PRICING_LABELS[p.pricing]
    if serving:
        d = c.detail
        console.print(
            f"[bold]Chosen:[/bold] {o.label}, {o.gpu_count}× {o.gpu_model}: "
            f"{d['tokens_per_second']:.0f} tokens/s, €{d['eur_per_million_tokens']:.2f} per "
            f"million tokens at full load; {d['replicas']:.0f} replica(s) always on = "
            f"€{c.cost_eur:,.2f} per month at {label} €{c.eur_per_hour:.4f}/h (load "
            f"{d['load']:.0%})"
        )
    else:
        console.print(
            f"[bold]Chosen:[/bold] {o.label}, {o.gpu_count}× {o.gpu_model}: {c.hours:.2f} h × "
            f"€{c.eur_per_hour:.4f}/h {label} = €{c.cost_eur:,.2f} for the whole job "
            f"({c.gpu_hours:.2f} GPU-hours at MFU {c.utilization:.2f})"
        )
    if p.runners_up:
        table = Table(
            title="Runners-up (cheapest region of each instance type)", title_justify="left"
        )
        headers = ["Provider", "Instance", "Region", "GPUs"]
        headers += (
            ["tokens/s", "€/M tokens", "Replicas", "€/h", "€/month"]
            if serving
            else ["Hours", "€/h", "€ total"]
        )
        for header in headers:
            table.add_column(
                header,
                justify="right" if header[0] in "€tHR" and header not in ("Region",) else "left",
            )
        for r in p.runners_up:
            ro = r.offer
            cells = [ro.provider, ro.instance_type, ro.region, f"{ro.gpu_count}× {ro.gpu_model}"]
            if serving:
                cells += [
                    f"{r.detail['tokens_per_second']:.0f}",
                    f"{r.detail['eur_per_million_tokens']:.2f}",
                    f"{r.detail['replicas']:.0f}",
                    f"{r.eur_per_hour:.4f}",
                    f"{r.cost_eur:,.2f}",
                ]
            else:
                cells += [f"{r.hours:.2f}", f"{r.eur_per_hour:.4f}", f"{r.cost_eur:,.2f}"]
            table.add_row(*cells)
        console.print(table)
    shown = [e for e in p.excluded if e.kind != "filter"]
    filtered = len(p.excluded) - len(shown)
    if shown:
        console.print(
            "Excluded "
            f"({len(shown)}{f', plus {filtered} outside your filters' if filtered else ''}):"
        )
        for e in shown[:12]:
            console.print(f"  {e.offer.label}: {e.reason}")
        if len(shown) > 12:
            console.print(f"  … and {len(shown) - 12} more (--json lists all).")
    elif filtered:
        console.print(f"{filtered} offers outside your filters.")
    if p.pricing.startswith("reserved"):
        console.print(
            "Reserved prices assume the reservation is already bought and otherwise used; see "
            "`sweeper commit`."
        )
    if p.pricing == "spot":
        console.print(
            "Spot prices exclude work lost to interruptions; see `sweeper commit --interruptible`."
        )


def _render_commit(
    console: Console,
    c: CommitmentComparison,
    offer: Offer,
    on_demand_eur: float,
    sources: dict[str, str],
) -> None:
    console.print(
        f"[bold]Commitment comparison[/bold] for {offer.label}, {offer.gpu_count}× "
        f"{offer.gpu_model}: {c.hours_per_month:g} h/month ({c.utilization:.0%} of "
        f"{c.hours_in_month:g} h) for {c.months} months"
    )
    console.print(
        f"On-demand today: €{on_demand_eur:.4f}/h = €{on_demand_eur * c.hours_in_month:,.0f} per "
        f"month around the clock, €{on_demand_eur * c.hours_per_month:,.0f} per month at this "
        "usage."
    )
    drift = (
        f"Market prices fall {c.price_decline_per_year:.0%}/yr: on-demand and spot follow them, a "
        "reservation stays at its purchase price and is renewed at the market price of its "
        "renewal month."
        if c.price_decline_per_year
        else "Market prices assumed flat (--price-decline-per-year 0)."
    )
    console.print(drift)
    table = Table(title=f"Total over {c.months} months, in euros", title_justify="left")
    _add_columns(
        table,
        ["Option"],
        ["€/h today", "Total €", "vs on-demand", "Break-even utilization"],
        [],
        ["Price from", "Note"],
    )
    od_total = c.on_demand.total_eur
    for o in c.options:
        total = "never" if math.isinf(o.total_eur) else f"{o.total_eur:,.0f}"
        versus = (
            MISSING
            if o.option == "on_demand" or math.isinf(o.total_eur)
            else f"{o.total_eur / od_total - 1:+.0%}"
        )
        be = MISSING
        if o.break_even_utilization is not None:
            be = (
                f"{o.break_even_utilization:.0%}"
                if o.break_even_utilization <= 1
                else f"never ({o.break_even_utilization:.0%})"
            )
        mark = " ◀" if o.option == c.recommendation else ""
        table.add_row(
            f"{OPTION_LABELS[o.option]}{mark}",
            f"{o.eur_per_hour_now:.4f}",
            total,
            versus,
            be,
            sources.get(o.option, o.price_source),
            o.note,
        )
    console.print(table)
    console.print(f"[bold]Recommendation: {OPTION_LABELS[c.recommendation]}.[/bold] {c.reason}")
    console.print(
        f"Break-even utilization = reservation total ÷ (€{on_demand_eur:.4f}/h on-demand today × "
        f"{c.hours_in_month:g} h × {c.market_factor_sum:.4f}, the sum of the {c.months} monthly "
        "market price factors); at or above it the reservation is cheaper than on-demand."
    )


# --------------------------------------------------------------------------- formatting


def _add_columns(
    table: Table, left: list[str], right: list[str], more_right: list[str], last_left: list[str]
) -> None:
    """Text columns left-aligned, numbers right-aligned, in the order given."""
    for header in left:
        table.add_column(header)
    for header in [*right, *more_right]:
        table.add_column(header, justify="right")
    for header in last_left:
        table.add_column(header)


def _money(value: float | None, decimals: int) -> str:
    return MISSING if value is None else f"{value:,.{decimals}f}"


def _num(value: float | None) -> str:
    return MISSING if value is None else f"{value:g}"


def _sort_price(offer: Offer, fx: FxRates) -> float:
    value = _optional_eur(offer, "on_demand", fx)
    return math.inf if value is None else value


def _shown_dates(p: Placement) -> list[str]:
    return sorted({p.chosen.offer.price_date, *(o.offer.price_date for o in p.runners_up)})
