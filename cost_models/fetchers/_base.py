"""The extension point for live price sources: a small base class and a registry of providers.

A new provider is one module in ``cost_models/fetchers/providers/`` that subclasses
:class:`PriceFetcher` and decorates it with :func:`register_price_fetcher`; ``PRICE_FETCHERS``
finds the module by itself, and the ``sweeper prices refresh`` command then accepts its name.
"""

from __future__ import annotations

import abc
import dataclasses
from datetime import date
from typing import ClassVar, TypeVar

from cost_models.errors import CostModelError
from cost_models.fetchers._errors import UnknownPriceSourceError
from cost_models.fetchers._fetched_offer import FetchedOffer
from registries import DuplicateNameError, Registry


@dataclasses.dataclass(frozen=True)
class FetchScope:
    """Which offers to fetch: every listed instance type in every listed region, priced today."""

    instance_types: tuple[str, ...]
    regions: tuple[str, ...]
    price_date: date

    def __post_init__(self) -> None:
        if not self.instance_types or not self.regions:
            raise CostModelError(
                "a price refresh needs at least one instance type and one region, but got "
                f"instance_types={list(self.instance_types)}, regions={list(self.regions)}"
            )


class PriceFetcher(abc.ABC):
    """Fetches live prices of one provider and returns them as :class:`FetchedOffer` rows.

    Subclasses set :attr:`provider` (the catalog's ``provider`` value) and :attr:`api_name`, and
    implement :meth:`fetch_rows`. Their constructor takes ``endpoint_url`` (None = the public
    endpoint) so that tests and proxies can point them elsewhere.
    """

    provider: ClassVar[str]
    api_name: ClassVar[str]
    """What the ``source`` column names, e.g. "AWS Price List API"."""

    def __init__(self, *, endpoint_url: str | None = None) -> None:
        self.endpoint_url = endpoint_url

    @abc.abstractmethod
    def fetch_rows(self, scope: FetchScope) -> list[FetchedOffer]:
        """Called once per refresh. Returns one row per offer the API priced within ``scope``.

        Spec columns the API does not report are left None (the refresh fills them from the
        previous catalog). Raises :class:`PriceFetchError` with a one-line reason on failure.
        """


_FetcherT = TypeVar("_FetcherT", bound=type[PriceFetcher])

#: Every price source by its provider name, discovered from ``cost_models.fetchers.providers``.
PRICE_FETCHERS: Registry[type[PriceFetcher]] = Registry(
    "price source", package="cost_models.fetchers.providers"
)


def register_price_fetcher(cls: _FetcherT) -> _FetcherT:
    """Class decorator: make ``cls`` available under ``cls.provider``; names must be unique."""
    name = cls.provider
    try:
        PRICE_FETCHERS.add(name, cls)
    except DuplicateNameError:
        taken = dict(PRICE_FETCHERS.items())[name]
        raise DuplicateNameError(
            f"price fetcher '{name}' is already registered by {taken.__qualname__}"
        ) from None
    return cls


def available_price_fetchers() -> list[str]:
    """Registered provider names, sorted."""
    return sorted(PRICE_FETCHERS.names())


def price_fetcher_class(name: str) -> type[PriceFetcher]:
    """The fetcher registered as ``name``; an unknown name is answered with the close matches."""
    if name not in PRICE_FETCHERS:
        raise UnknownPriceSourceError.among(name, available_price_fetchers())
    return PRICE_FETCHERS.get(name)
