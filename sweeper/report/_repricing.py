"""A repricing request turned into repriced records: each recorded target instance moved to the
instance, pricing model, catalog or MFU asked for, and serving re-rated or moved to another
instance. The arithmetic is ``_reprice``; this module reads the catalog rows it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cost_models
from sweeper.costing import PricingContext, project_serving
from sweeper.errors import SweeperError
from sweeper.report._reprice import TrainingTarget, reprice


class RepriceError(SweeperError):
    """A reprice request the recorded study cannot answer."""


def split_instance_label(label: str) -> tuple[str | None, str]:
    """``provider/instance_type`` (or a bare ``instance_type``) as (provider or None, type)."""
    provider, _, name = label.partition("/")
    return (provider, name) if name else (None, provider)


def repricing(
    loaded: Any,
    records: list,
    *,
    catalog_path: Path | None,
    instance: str | None,
    provider: str | None,
    pricing: str | None,
    serving_pricing: str | None,
    mfu: float | None,
    serving_instance: str | None = None,
) -> tuple[list, str] | None:
    """(repriced records, one-line description), or None when nothing asks for a repricing."""
    if not any((catalog_path, instance, pricing, serving_pricing, mfu, serving_instance)):
        return None
    catalog = cost_models.load_catalog(catalog_path)
    fx = cost_models.load_fx_rates()
    spec = loaded.spec
    training: dict[str, TrainingTarget] = {}
    moves: list[str] = []
    if any((catalog_path, instance, pricing, mfu)):
        for label in sorted(
            {
                str((r.projection.get("training") or {}).get("target_instance"))
                for r in records
                if r.projection.get("training")
            }
        ):
            old = next(
                r.projection["training"]
                for r in records
                if (r.projection.get("training") or {}).get("target_instance") == label
            )
            old_provider, old_type = split_instance_label(label)
            offer = catalog.offer(
                instance or old_type, provider=provider if instance else old_provider
            )
            new_pricing = pricing or str(old.get("target_pricing"))
            gpu = cost_models.gpu_spec(offer.gpu_model)
            same = f"{offer.provider}/{offer.instance_type}" == label
            if mfu is not None:
                new_mfu = mfu
            elif same:
                new_mfu = float(old["mfu"])
            elif spec.hardware.target.mfu is not None:
                new_mfu = float(spec.hardware.target.mfu)
            else:
                new_mfu = cost_models.default_mfu(spec.projection.method, gpu.name)
            training[label] = TrainingTarget(
                instance=f"{offer.provider}/{offer.instance_type}",
                gpu=gpu.name,
                gpu_peak_flops_per_second=gpu.peak_flops_per_second,
                gpu_count=int(offer.gpu_count),
                gpu_memory_gib=float(offer.gpu_memory_gib),
                pricing=new_pricing,
                eur_per_hour=cost_models.eur_per_hour(offer, new_pricing, fx),
                mfu=new_mfu,
                price_date=str(offer.price_date),
                source=str(offer.source),
            )
            moves.append(
                f"training {label} {old.get('target_pricing')} → {training[label].instance} "
                f"{new_pricing} (€{training[label].eur_per_hour:.3f}/h, {gpu.name}, MFU "
                f"{new_mfu:g}, price date {offer.price_date})"
            )
    serving: dict[str, tuple[float, str]] = {}
    serving_moves: dict[str, dict[str, Any]] = {}
    if serving_instance:
        serving_moves, move = _serving_moves(
            loaded, records, serving_instance, serving_pricing, catalog, fx
        )
        moves.append(move)
    elif serving_pricing or catalog_path:
        for r in records:
            s = r.projection.get("serving") or {}
            label = s.get("serving_instance")
            if not label or label in serving:
                continue
            prov, name = split_instance_label(str(label))
            offer = catalog.offer(name, provider=prov)
            new_pricing = serving_pricing or str(s.get("serving_pricing"))
            serving[label] = (cost_models.eur_per_hour(offer, new_pricing, fx), new_pricing)
            moves.append(f"serving {label} → {new_pricing} (€{serving[label][0]:.3f}/h)")
    if not training and not serving and not serving_moves:
        raise RepriceError("nothing to reprice: the study's trials recorded no projection")
    where = f" with catalog {catalog_path}" if catalog_path else ""
    repriced = reprice(
        records, training=training, serving_eur_per_hour=serving, serving_moves=serving_moves
    )
    return repriced, "; ".join(moves) + where


def _serving_moves(
    loaded: Any,
    records: list,
    label: str,
    pricing: str | None,
    catalog: Any,
    fx: Any,
) -> tuple[dict[str, dict[str, Any]], str]:
    """The cost model's serving projection on instance ``label`` for each weight dtype the
    study's trials were served at (the study's traffic, batch and context), keyed by dtype; and
    a one-line description of the move."""
    spec = loaded.spec
    if spec.serving is None:
        raise RepriceError(
            f"--serving-instance needs the study's `serving` section (traffic, batch, context); "
            f"{loaded.path} has none"
        )
    provider, name = split_instance_label(label)
    offer = catalog.offer(name, provider=provider)  # an unknown instance fails here, by name
    requested = f"{offer.provider}/{offer.instance_type}"
    moved = spec.model_copy(
        update={
            "serving": spec.serving.model_copy(
                update={
                    "instance": offer.instance_type,
                    "provider": offer.provider,
                    "region": None,
                    "pricing": pricing or spec.serving.pricing,
                }
            )
        }
    )
    ctx = PricingContext(catalog=catalog, fx=fx)
    dtypes = sorted(
        {
            str(r.projection["serving"]["weight_dtype"])
            for r in records
            if (r.projection.get("serving") or {}).get("weight_dtype")
        }
    )
    if not dtypes:
        raise RepriceError("nothing to reprice: the study's trials recorded no serving projection")
    projections = {
        dtype: project_serving(moved, dtype, ctx).as_dict() | {"requested_instance": requested}
        for dtype in dtypes
    }
    new_pricing = moved.serving.pricing
    fits = [d for d, proj in projections.items() if proj["fits_serving_instance"]]
    description = (
        f"serving → {requested} {new_pricing} "
        f"(€{cost_models.eur_per_hour(offer, new_pricing, fx):.3f}/h, {offer.gpu_count}× "
        f"{offer.gpu_model} {offer.gpu_memory_gib:g} GiB; fits at {', '.join(fits) or 'no level'})"
    )
    return projections, description
