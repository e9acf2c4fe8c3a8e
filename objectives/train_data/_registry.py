"""The training-file formats by name, and detecting a file's format from its first record."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from objectives.errors import ObjectiveError
from objectives.train_data._base import TrainFormat
from registries import Registry

TRAIN_FORMATS: Registry[TrainFormat] = Registry(
    "training-data format", package="objectives.train_data.formats", error=ObjectiveError
)
"""Format name -> format, in detection order: every module of ``formats/`` registers one."""


def register_format(fmt: TrainFormat, *, order: float | None = None) -> TrainFormat:
    """Add ``fmt`` under its ``name``; rejects a duplicate name.

    Detection tries formats by ``order`` (lower first), most specific first: a chat or alpaca
    record may also carry a stray ``text`` key, so ``text`` comes last."""
    return TRAIN_FORMATS.add(fmt.name, fmt, order=order)


def get_format(name: str) -> TrainFormat:
    """The format called ``name``; raises ``ObjectiveError`` listing the available ones."""
    return TRAIN_FORMATS.get(name)


def train_formats() -> Iterator[TrainFormat]:
    """Every format, in detection order."""
    return (fmt for _, fmt in TRAIN_FORMATS.items())


def field_keys(fmt: TrainFormat, fields: Mapping[str, str]) -> dict[str, str]:
    """Every logical field of ``fmt`` -> the record key holding it (``fields`` overrides).

    Raises ``ObjectiveError`` for a mapped name that is not a field of ``fmt``.
    """
    unknown = [name for name in fields if name not in fmt.all_fields]
    if unknown:
        raise ObjectiveError(
            f"data.fields maps {unknown[0]!r}, which format {fmt.name!r} does not have; "
            f"its fields: {', '.join(fmt.all_fields)}"
        )
    return {name: fields.get(name, name) for name in fmt.all_fields}


def implied_format(fields: Mapping[str, str]) -> TrainFormat | None:
    """The one format that has every field ``fields`` maps, if exactly one has them."""
    if not fields:
        return None
    candidates = [f for f in train_formats() if all(n in f.all_fields for n in fields)]
    return candidates[0] if len(candidates) == 1 else None


def detect_format(record: Mapping[str, Any], fields: Mapping[str, str]) -> TrainFormat | None:
    """The first format whose required fields (renamed by ``fields``) ``record`` has."""
    for fmt in train_formats():
        if any(name not in fmt.all_fields for name in fields):
            continue  # the study maps fields this format does not have
        if fmt.matches(record, field_keys(fmt, fields)):
            return fmt
    return None


def formats_help() -> str:
    """One line describing every format (for error messages)."""
    return "; ".join(f"{fmt.name} {fmt.description}" for fmt in train_formats())
