"""The training-file formats by name, and detecting a file's format from its first record."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from objectives.errors import ObjectiveError
from objectives.train_data._alpaca import AlpacaFormat
from objectives.train_data._base import TrainFormat
from objectives.train_data._chat import ChatFormat
from objectives.train_data._prompt_completion import PromptCompletionFormat
from objectives.train_data._text import TextFormat

_FORMATS: dict[str, TrainFormat] = {}


def register_format(fmt: TrainFormat) -> TrainFormat:
    """Add ``fmt``; detection tries formats in registration order. Rejects a duplicate name."""
    if fmt.name in _FORMATS:
        raise ValueError(f"Training-data format {fmt.name!r} is already registered.")
    _FORMATS[fmt.name] = fmt
    return fmt


# Most specific first: a chat or alpaca record may also carry a stray `text` key.
for _fmt in (ChatFormat(), AlpacaFormat(), PromptCompletionFormat(), TextFormat()):
    register_format(_fmt)

TRAIN_FORMATS: Mapping[str, TrainFormat] = MappingProxyType(_FORMATS)
"""Format name -> format, in detection order."""


def get_format(name: str) -> TrainFormat:
    """The format called ``name``; raises ``ObjectiveError`` listing the available ones."""
    try:
        return _FORMATS[name]
    except (KeyError, TypeError):
        raise ObjectiveError(
            f"Unknown training-data format {name!r}. Available: {', '.join(_FORMATS)}"
        ) from None


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
    candidates = [f for f in _FORMATS.values() if all(n in f.all_fields for n in fields)]
    return candidates[0] if len(candidates) == 1 else None


def detect_format(record: Mapping[str, Any], fields: Mapping[str, str]) -> TrainFormat | None:
    """The first format whose required fields (renamed by ``fields``) ``record`` has."""
    for fmt in _FORMATS.values():
        if any(name not in fmt.all_fields for name in fields):
            continue  # the study maps fields this format does not have
        if fmt.matches(record, field_keys(fmt, fields)):
            return fmt
    return None


def formats_help() -> str:
    """One line describing every format (for error messages)."""
    return "; ".join(f"{fmt.name} {fmt.description}" for fmt in _FORMATS.values())
