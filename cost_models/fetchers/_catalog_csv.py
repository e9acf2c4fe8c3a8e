"""The schema-v1 catalog CSV text of a list of offers, as a refresh writes it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from cost_models import CATALOG_COLUMNS, Offer


def catalog_csv_text(offers: Iterable[Offer]) -> str:
    """The CSV of ``offers`` under the exact schema-v1 header, sorted by (provider, instance type,
    region) so that two refreshes of the same prices give the same bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CATALOG_COLUMNS)
    for offer in sorted(offers, key=lambda o: (o.provider, o.instance_type, o.region)):
        writer.writerow([_cell(getattr(offer, column)) for column in CATALOG_COLUMNS])
    return buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
