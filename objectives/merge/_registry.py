"""The merge methods, by name: every public module of this package registers one."""

from __future__ import annotations

from objectives.merge._base import MergeMethod
from objectives.merge._errors import MergeConfigError
from registries import Registry

MERGERS: Registry[MergeMethod] = Registry(
    "merge method", package="objectives.merge", error=MergeConfigError
)
"""Merge method name -> its ``MergeMethod``, in mergekit's documentation order."""


def get_merge_method(name: str) -> MergeMethod:
    """The method registered as ``name``; raises ``MergeConfigError`` listing the methods."""
    return MERGERS.get(name)


def task_vector_methods() -> tuple[str, ...]:
    """Methods that merge task vectors relative to a ``base_model`` (and take a ``density``)."""
    return tuple(name for name, method in MERGERS.items() if method.task_vectors)


def interpolating_methods() -> tuple[str, ...]:
    """Methods that take ``t`` (the fine-tune's share maps to it)."""
    return tuple(name for name, method in MERGERS.items() if method.interpolates)
