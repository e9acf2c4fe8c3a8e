"""``sweeper estimate``: FLOPs, memory, GPU-hours, the cheapest instance that fits, in euros."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

import typer
from rich.console import Console
from rich.table import Table

from cost_models import (
    PRICING_LABELS,
    Dtype,
    ModelShape,
    Placement,
    PricingModel,
    ServingJobEstimate,
    ServingWorkload,
    TrainingMethod,
    TrainingWorkload,
    approximate_shape,
    cheapest_instance,
    gpu_spec,
    load_catalog,
    load_gpu_specs,
    model_shape,
    training_job_estimate,
    training_workload,
)
from cost_models.errors import InvalidInputError
from sweeper.cli._apps import app
from sweeper.cli.cost._options import (
    CatalogOpt,
    FxFileOpt,
    FxUsdOpt,
    JsonOpt,
    Method,
    Pricing,
    ProviderOpt,
    RegionOpt,
    WeightDtype,
    load_fx,
)
from sweeper.cli.cost._render import print_footer, print_json, wide_console


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
    fx = load_fx(fx_usd_per_eur, fx_file)
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
    result: Any
    if isinstance(workload, TrainingWorkload):
        result = training_job_estimate(
            workload,
            placement,
            model=shape.name,
            lora_rank=lora_rank,
            target_modules=target_modules,
            seq_len=seq_len,
            batch=batch,
            checkpointing=checkpointing,
            gpu_specs=specs.values(),
            fx=fx,
            catalog=catalog,
        )
    else:
        result = ServingJobEstimate(workload, placement, fx, catalog)
    data = result.to_dict()
    if as_json:
        print_json(data)
        return
    console = wide_console()
    if isinstance(workload, TrainingWorkload):
        _render_training(console, workload, data)
    else:
        _render_serving(console, workload, data)
    _render_placement(console, placement, serving=isinstance(workload, ServingWorkload))
    print_footer(console, fx, catalog, placement.shown_offers)


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
