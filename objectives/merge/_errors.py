"""The two ways a merge goes wrong: a configuration that breaks a rule, a merge that fails."""

from __future__ import annotations

from objectives.errors import ObjectiveError


class MergeConfigError(ObjectiveError, ValueError):
    """A merge configuration that breaks a rule; the message states the rule and the values."""


class MergeError(ObjectiveError):
    """A merge that could not run: a missing model folder or a mergekit failure."""
