"""The sweeper's exception tree. Its root subclasses ``user_errors.UserError``, which the CLI turns
into one line and exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from user_errors import UserError


class SweeperError(UserError):
    """Root of every error the user can fix (bad input, missing files, unknown names)."""


class StudyFileError(SweeperError):
    """A study file that cannot be used: names the file, the field, the bad value and what is
    valid."""

    def __init__(self, path: str | Path, field: str, value: Any, valid: str) -> None:
        self.path = str(path)
        self.field = field
        self.value = value
        self.valid = valid
        message = f"field '{_bounded(field, 120)}': got {short_repr(value)}; {_bounded(valid, 600)}"
        super().__init__(f"{self.path}: {message}")


class StorageError(SweeperError):
    """The study storage (Optuna RDB) cannot be opened or does not hold the named study."""


class TrackingError(SweeperError):
    """The MLflow tracking store cannot be reached or written."""


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: how an error message quotes a bad value."""
    return _bounded(repr(value), limit)


def _bounded(text: str, limit: int) -> str:
    """``text`` on one line (control characters escaped) and at most ``limit`` characters."""
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."
