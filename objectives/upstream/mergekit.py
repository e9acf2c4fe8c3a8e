"""mergekit's loader cache, which its public API never empties.

``mergekit.io.tasks.LoaderCache`` is a per-process singleton that keeps a tensor loader for
every model it ever read, each holding its safetensors file memory-mapped, and never lets go.
In a sweep that merges a new LoRA every trial, each one kept its base+LoRA model (513 MiB for
SmolLM2-135M) mapped for the life of the process -- from a temporary folder already deleted,
so its disk space stayed taken too -- and a later merge of the same model reference would read
through a loader whose folder is gone. mergekit has no public call that releases them (0.1.5),
so this module empties the singleton's ``loaders`` dict after ``flush_all()``.
"""

from __future__ import annotations

from objectives.upstream._changes import UpstreamChangedError, installed_version

MERGEKIT_TESTED = ">=0.1.5,<0.2"
"""The mergekit versions this adapter was written against (pyproject.toml pins the same)."""


def release_loaders() -> None:
    """Drop mergekit's per-process tensor loaders (and their memory maps); call after a merge."""
    cache = _loader_cache()
    cache.flush_all()
    cache.loaders.clear()


def _loader_cache() -> object:
    """mergekit's ``LoaderCache`` singleton, checked to have what ``release_loaders`` uses."""
    try:
        from mergekit.io.tasks import LoaderCache
    except ImportError as error:
        raise UpstreamChangedError(_changed("mergekit.io.tasks.LoaderCache is gone")) from error
    cache = LoaderCache()
    if not callable(getattr(cache, "flush_all", None)) or not isinstance(
        getattr(cache, "loaders", None), dict
    ):
        raise UpstreamChangedError(
            _changed("LoaderCache no longer has flush_all() and a `loaders` dict")
        )
    return cache


def _changed(what: str) -> str:
    return (
        f"mergekit {installed_version('mergekit')} changed a private API the sweeper relies on "
        f"(tested with mergekit{MERGEKIT_TESTED}): {what}. Update objectives/upstream/mergekit.py."
    )
