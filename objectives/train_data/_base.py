"""The extension point: a training-file format turns one record into one ``TrainExample``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from objectives.train_data._examples import TrainExample


class RecordError(ValueError):
    """One record cannot be read: names the record's key at fault, its value and what is valid.

    Raised by ``TrainFormat.parse``; the reader adds the file and line.
    """

    def __init__(self, key: str, value: Any, valid: str) -> None:
        super().__init__(valid)
        self.key = key
        self.value = value
        self.valid = valid


class TrainFormat(ABC):
    """A record layout of a training file.

    ``fields`` are the logical fields a record must have and ``optional_fields`` those it may
    have; a study's ``data.fields`` maps any of them to the key the user's file uses instead.
    """

    name: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    optional_fields: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str]

    @abstractmethod
    def parse(self, record: Mapping[str, Any], keys: Mapping[str, str]) -> TrainExample:
        """The example ``record`` holds. ``keys`` maps every logical field to the record's key.

        Raises ``RecordError`` for a missing or ill-typed field.
        """

    def matches(self, record: Mapping[str, Any], keys: Mapping[str, str]) -> bool:
        """Whether ``record`` has every required field (used to detect a file's format)."""
        return all(keys[name] in record for name in self.fields)

    @property
    def all_fields(self) -> tuple[str, ...]:
        return self.fields + self.optional_fields


def string_field(
    record: Mapping[str, Any], keys: Mapping[str, str], field: str, *, default: str | None = None
) -> str:
    """The string value of logical ``field``; ``default`` when it is optional and absent."""
    key = keys[field]
    if key not in record and default is not None:
        return default
    value = record.get(key)
    if not isinstance(value, str):
        shown = "missing" if key not in record else f"a {type(value).__name__}"
        raise RecordError(key, value, f"a string ({field}) is required, {shown} found")
    return value
