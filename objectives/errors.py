"""The objectives package's exception tree.

Every error a user can fix (a missing package, an unknown task name, a bad training
config) derives from ``ObjectiveError`` (a ``user_errors.UserError``), so the CLI can print it
as one line.
"""

from __future__ import annotations

from user_errors import UserError


class ObjectiveError(UserError):
    """Root of every objectives error the user can fix."""


class AssetError(ObjectiveError):
    """A model asset (the bundled SmolLM2 weights, a model folder) is missing or unusable."""


class UnknownTaskError(ObjectiveError, KeyError):
    """A task name that is not in the registry; the message lists the available ones."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class UnknownScorerError(ObjectiveError, KeyError):
    """A scorer name that is not registered; the message lists the available ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class EvalTaskError(ObjectiveError, ValueError):
    """An evaluation task that cannot be used as given.

    ``field`` is where the problem is, relative to the task's entry in the study file
    (``task``, ``file``, ``metric``, ``fields.target``, ``include_path``...); ``value`` the bad
    value; ``valid`` what would be valid. The study loader turns it into a ``StudyFileError``.
    """

    def __init__(self, field: str, value: object, valid: str) -> None:
        super().__init__(f"{field}: got {value!r}; {valid}")
        self.field = field
        self.value = value
        self.valid = valid


class TrainConfigError(ObjectiveError, ValueError):
    """A LoRA training config that breaks a rule; the message states the rule and the value."""
