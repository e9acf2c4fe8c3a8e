"""Which catalog offer a commitment comparison prices: a named instance, or the cheapest
on-demand offer of a GPU model at the fewest (or the given) GPUs per instance."""

from __future__ import annotations

from collections.abc import Iterable

from cost_models._catalog import Catalog
from cost_models._names import resolve_name
from cost_models._offer import Offer
from cost_models.errors import InvalidInputError, UnknownGpuError


def commitment_offer(
    catalog: Catalog,
    *,
    gpu: str | None = None,
    instance: str | None = None,
    gpu_count: int | None = None,
    provider: str | None = None,
    region: str | None = None,
    known_gpus: Iterable[str] = (),
) -> Offer:
    """The offer of ``instance`` (its cheapest region unless ``region`` is given), or the cheapest
    on-demand offer of ``gpu`` with ``gpu_count`` GPUs (default: the fewest offered), ties broken
    by provider and region. Either must have an on-demand price: a comparison is against it.
    ``known_gpus`` are GPU names that are valid even when no offer has them."""
    if instance:
        offer = catalog.offer(instance, provider=provider, region=region)
        if offer.on_demand_per_hour is None:
            raise InvalidInputError(
                f"A commitment comparison needs an on-demand price, but {offer.label} has none "
                f"({offer.notes})."
            )
        return offer
    names = set(catalog.gpu_models) | set(known_gpus)
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
    count = gpu_count or min(o.gpu_count for o in priced)
    same_size = [o for o in priced if o.gpu_count == count]
    return min(same_size, key=lambda o: (o.on_demand_per_hour or 0.0, o.provider, o.region))
