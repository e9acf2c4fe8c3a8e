"""What every registered price fetcher must do, run against each; and the registry itself."""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import ClassVar

import pytest

from cost_models import load_catalog
from cost_models.errors import CostModelError
from cost_models.fetchers import (
    PRICE_FETCHERS,
    FetchedOffer,
    FetchScope,
    PriceFetcher,
    _base,
    available_price_fetchers,
    price_fetcher_class,
    providers,
    refresh_catalog,
    register_price_fetcher,
)
from registries import Registry


@pytest.fixture(params=available_price_fetchers())
def fetcher_and_scope(request):
    """A fetcher wired to recorded answers, and a scope those answers cover: for every registered
    price source, from ``contract_case(request)`` in its own test module,
    ``tests/cost_models/fetchers/test_<provider>_fetcher.py`` (so a new source is its module and
    its test, and this suite runs against it without an edit here)."""
    module_name = f"{__package__}.test_{request.param}_fetcher"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        module = None
    case = getattr(module, "contract_case", None)
    if case is None:
        pytest.fail(
            f"every registered price source needs a contract case, but {request.param!r} has no "
            f"`contract_case(request)` in {module_name}"
        )
    return case(request)


def test_rows_belong_to_the_provider_and_the_scope(fetcher_and_scope):
    fetcher, scope = fetcher_and_scope
    rows = fetcher.fetch_rows(scope)
    assert rows
    for row in rows:
        assert isinstance(row, FetchedOffer)
        assert row.provider == fetcher.provider
        assert row.instance_type in scope.instance_types and row.region in scope.regions
    assert len({row.key for row in rows}) == len(rows)


def test_rows_carry_currency_date_and_source(fetcher_and_scope):
    fetcher, scope = fetcher_and_scope
    for row in fetcher.fetch_rows(scope):
        assert re.fullmatch(r"[A-Z]{3}", row.currency)
        assert row.price_date == scope.price_date
        assert row.source.startswith(fetcher.api_name) and str(scope.price_date) in row.source


def test_prices_are_positive_or_unknown(fetcher_and_scope):
    fetcher, scope = fetcher_and_scope
    for row in fetcher.fetch_rows(scope):
        assert all(price is None or price > 0 for price in row.prices().values())
        assert any(price is not None for price in row.prices().values())


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------


def test_the_registered_providers_are_the_provider_modules():
    """Discovery: every public module of ``fetchers/providers/`` registers one source."""
    modules = [
        m.name for m in pkgutil.iter_modules(providers.__path__) if not m.name.startswith("_")
    ]
    assert sorted(available_price_fetchers()) == sorted(modules)
    assert {"aws", "azure"} <= set(available_price_fetchers())


def test_unknown_provider_suggests_the_close_one():
    with pytest.raises(CostModelError) as caught:
        price_fetcher_class("azur")
    assert str(caught.value) == "Unknown price source 'azur'. Did you mean: azure?"


def test_unknown_provider_without_a_close_one_lists_them():
    with pytest.raises(CostModelError) as caught:
        price_fetcher_class("gcp")
    available = ", ".join(available_price_fetchers())
    assert str(caught.value) == f"Unknown price source 'gcp'. Available: {available}."


def test_a_second_fetcher_under_a_taken_name_is_rejected():
    class Impostor(PriceFetcher):
        provider = "aws"
        api_name = "impostor"

        def fetch_rows(self, scope):
            return []

    with pytest.raises(ValueError, match=r"'aws' is already registered by AwsPriceFetcher"):
        register_price_fetcher(Impostor)


def test_a_new_provider_is_one_class(monkeypatch, tmp_path, recordings):
    """The extension point: subclass, register, refresh. Nothing else changes."""
    registered = Registry("price source")
    for name, fetcher_class in PRICE_FETCHERS.items():
        registered.add(name, fetcher_class)
    monkeypatch.setattr(_base, "PRICE_FETCHERS", registered)

    @register_price_fetcher
    class FlatRateFetcher(PriceFetcher):
        provider = "flatcloud"
        api_name = "Flat Cloud price sheet"
        rows_asked: ClassVar[list[FetchScope]] = []

        def fetch_rows(self, scope):
            self.rows_asked.append(scope)
            return [
                FetchedOffer(
                    provider=self.provider,
                    instance_type=instance_type,
                    region=region,
                    currency="EUR",
                    price_date=scope.price_date,
                    source=f"{self.api_name} {scope.price_date}",
                    on_demand_per_hour=2.0,
                    gpu_model="H100",
                    gpu_count=1,
                )
                for instance_type in scope.instance_types
                for region in scope.regions
            ]

    assert "flatcloud" in available_price_fetchers()
    result = refresh_catalog(
        price_fetcher_class("flatcloud")(),
        instance_types=["h100-1x"],
        regions=["eu-1"],
        out_path=tmp_path / "v1" / "flatcloud.csv",
        today=recordings.price_date,
    )
    (offer,) = load_catalog(result.path).all_offers()
    assert (offer.provider, offer.currency, offer.gpu_memory_gib) == ("flatcloud", "EUR", 80)
