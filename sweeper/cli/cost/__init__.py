"""Cost-model CLI commands: ``sweeper prices list``, ``sweeper estimate``, ``sweeper commit``.

One module per command: each parses its options, calls ``cost_models`` and renders the result.
Every figure printed says its currency; every report ends with the exchange rate and its date,
the price dates of the offers shown, and the catalog version and hash. ``--json`` prints the
result's own ``to_dict()`` as one JSON document for scripts. User mistakes raise
``CostModelError`` subclasses, which ``sweeper.cli.main`` turns into one line and exit code 2.
"""

from sweeper.cli.cost import _commit, _estimate, _prices_list  # noqa: F401  (registers commands)

__all__: list[str] = []
