"""Reading a training file (JSONL, or a ``datasets.Dataset.save_to_disk`` folder) into examples.

Every problem is a ``TrainDataError`` naming the file, the line (or record), the key, the bad value
and what is valid: raised when the study is loaded, before anything trains.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from objectives.errors import ObjectiveError
from objectives.train_data._base import RecordError, TrainFormat
from objectives.train_data._examples import TrainExample
from objectives.train_data._registry import (
    TRAIN_FORMATS,
    detect_format,
    field_keys,
    formats_help,
    get_format,
    implied_format,
)


class TrainDataError(ObjectiveError, ValueError):
    """A training file that cannot be used. ``where`` is ``line N``, ``record N`` or ``(file)``."""

    def __init__(self, path: str | Path, where: str, key: str | None, value: Any, valid: str):
        self.path = str(path)
        self.where = where
        self.key = key
        self.value = value
        self.valid = valid
        self.field = f"{where}: {key}" if key else where
        super().__init__(f"{self.path}: {self.field}: got {_short(value)}; {valid}")


@dataclass(frozen=True)
class TrainData:
    """The examples of one training file and the format they were read in."""

    path: Path
    format: str
    examples: tuple[TrainExample, ...]


def is_dataset_folder(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``datasets.Dataset.save_to_disk``."""
    return path.is_dir() and (path / "dataset_info.json").is_file()


def load_train_data(
    path: str | Path, *, format: str | None = None, fields: Mapping[str, str] | None = None
) -> TrainData:
    """All examples of the training file or dataset folder ``path``.

    ``format`` is a name from ``TRAIN_FORMATS`` (None: the one format whose fields ``fields``
    maps, else detected from the first record); ``fields`` maps logical field names to the
    file's keys. Raises ``TrainDataError``.
    """
    path = Path(path)
    fields = dict(fields or {})
    fmt: TrainFormat | None = implied_format(fields)  # data.fields names a format's fields
    if format is not None:
        try:
            fmt = get_format(format)
        except ObjectiveError as exc:
            raise TrainDataError(path, "data.format", None, format, str(exc)) from None
    keys: dict[str, str] = {}
    examples: list[TrainExample] = []
    for where, record in _records(path):
        if not isinstance(record, Mapping):
            raise TrainDataError(path, where, None, record, "each record must be a JSON object")
        if fmt is None:
            fmt = detect_format(record, fields)
            if fmt is None:
                raise TrainDataError(
                    path,
                    where,
                    None,
                    f"keys {sorted(record)}",
                    f"no known format matches the first record; formats: {formats_help()}"
                    + (
                        f" (with data.fields {fields})"
                        if fields
                        else "; map other key names with data.fields"
                    ),
                )
        if not keys:
            try:
                keys = field_keys(fmt, fields)
            except ObjectiveError as exc:
                raise TrainDataError(path, "data.fields", None, fields, str(exc)) from None
        try:
            examples.append(fmt.parse(record, keys))
        except RecordError as exc:
            raise TrainDataError(
                path, where, exc.key, exc.value, f"{exc.valid} (format {fmt.name})"
            ) from None
    if not examples:
        raise TrainDataError(
            path, "(file)", None, "no records", "a training file needs at least one record"
        )
    assert fmt is not None
    return TrainData(path=path, format=fmt.name, examples=tuple(examples))


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    if is_dataset_folder(path):
        yield from _dataset_records(path)
        return
    if path.is_dir():
        raise TrainDataError(
            path, "(file)", None, "a folder", "a JSONL file or a datasets.save_to_disk folder"
        )
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise TrainDataError(path, "(file)", None, str(path), f"cannot be read: {exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrainDataError(
                    path,
                    f"line {number}",
                    None,
                    line.strip(),
                    f"not valid JSON ({exc.msg}); each line must be one JSON object",
                ) from None


def _dataset_records(path: Path) -> Iterator[tuple[str, Any]]:
    from datasets import load_from_disk

    try:
        dataset = load_from_disk(str(path))
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise TrainDataError(
            path, "(folder)", None, str(path), f"cannot be loaded: {exc}"
        ) from None
    if hasattr(dataset, "keys") and not hasattr(dataset, "column_names"):
        raise TrainDataError(
            path,
            "(folder)",
            None,
            f"a DatasetDict {sorted(dataset.keys())}",
            "save one split (a Dataset), e.g. dataset['train'].save_to_disk(...)",
        )
    for index, row in enumerate(dataset, start=1):
        yield f"record {index}", row


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) and value.startswith("keys ") else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["TRAIN_FORMATS", "TrainData", "TrainDataError", "is_dataset_folder", "load_train_data"]
