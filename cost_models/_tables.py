"""Reading the bundled CSV tables: exact headers, and cell errors that name file, line and column.

Each table module (catalog, GPU specs, utilization defaults) declares its header and parses its
cells with the small converters here, so a malformed file always fails with the same kind of
message: ``gpus.csv line 4, column 'bf16_tflops': must be a positive number, but got 'fast'.``
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from cost_models.errors import CatalogError, CatalogSchemaError

_ISO_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def bundled_data_path(*parts: str) -> Path:
    """A path inside the package's ``data`` folder."""
    return Path(str(resources.files("cost_models").joinpath("data", *parts)))


@dataclass(frozen=True)
class Row:
    """One data row: its cells by column name, and where it came from for error messages."""

    file: str
    line: int
    cells: dict[str, str]

    def fail(self, column: str, rule: str) -> CatalogError:
        return CatalogError(
            f"{self.file} line {self.line}, column '{column}': {rule}, but got "
            f"{self.cells.get(column, '')!r}."
        )

    def text(self, column: str, *, required: bool = True) -> str:
        value = self.cells[column].strip()
        if required and not value:
            raise self.fail(column, "must not be empty")
        return value

    def number(self, column: str, *, required: bool, positive: bool = True) -> float | None:
        value = self.cells[column].strip()
        if not value:
            if required:
                raise self.fail(column, "must not be empty")
            return None
        try:
            number = float(value)
        except ValueError:
            raise self.fail(column, "must be a number") from None
        if not math.isfinite(number) or (positive and number <= 0) or number < 0:
            rule = "must be a positive number" if positive else "must be a number >= 0"
            raise self.fail(column, rule)
        return number

    def integer(self, column: str, *, required: bool) -> int | None:
        value = self.cells[column].strip()
        if not value:
            if required:
                raise self.fail(column, "must not be empty")
            return None
        if not re.fullmatch(r"\d+", value) or int(value) <= 0:
            raise self.fail(column, "must be a positive integer")
        return int(value)

    def iso_date(self, column: str) -> str:
        value = self.text(column)
        if not _ISO_DATE.match(value):
            raise self.fail(
                column,
                "must be an ISO date (YYYY-MM-DD, or YYYY-MM / YYYY when the source is that "
                "coarse)",
            )
        return value


def read_rows(path: Path, header: Sequence[str], *, table: str) -> Iterator[Row]:
    """The rows of a CSV whose header must be exactly ``header``."""
    if not path.is_file():
        raise CatalogError(f"A {table} file must exist, but {str(path)!r} was not found.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(
            f"A {table} file must be UTF-8 text, but {path.name} is not ({exc})."
        ) from None
    yield from parse_rows(text, header, name=path.name, table=table)


def parse_rows(text: str, header: Sequence[str], *, name: str, table: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text))
    found = next(reader, None)
    if not found or not any(cell.strip() for cell in found):
        raise CatalogError(f"A {table} file must start with its header, but {name} is empty.")
    found = [cell.strip() for cell in found]
    if found != list(header):
        missing = [c for c in header if c not in found]
        unexpected = [c for c in found if c not in header]
        detail = []
        if missing:
            detail.append(f"missing: {', '.join(missing)}")
        if unexpected:
            detail.append(f"unexpected: {', '.join(unexpected)}")
        if not detail:
            detail.append("same columns in another order")
        hint = ""
        if "InstanceType" in found:
            hint = " It looks like a SkyPilot catalog; convert it to this schema first."
        raise CatalogSchemaError(
            f"A {table} file must have the header '{','.join(header)}', but {name} has "
            f"'{','.join(found)}' ({'; '.join(detail)}).{hint}"
        )
    for cells in reader:
        if not cells or not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise CatalogError(
                f"{name} line {reader.line_num}: a row must have {len(header)} fields like the "
                f"header, but has {len(cells)}."
            )
        yield Row(file=name, line=reader.line_num, cells=dict(zip(header, cells, strict=True)))
