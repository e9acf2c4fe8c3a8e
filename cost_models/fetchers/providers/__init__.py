"""One module per live price source, found by ``PRICE_FETCHERS`` (``cost_models.fetchers``).

Each public module here subclasses :class:`~cost_models.fetchers.PriceFetcher` and decorates it
with :func:`~cost_models.fetchers.register_price_fetcher`; the registry imports every public
module of this package the first time a source is named, so a new provider is one new module
(plus its test and recordings) and ``sweeper prices refresh`` accepts its name.
"""
