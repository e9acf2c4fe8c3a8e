"""How an adapter says that its upstream changed: the error, and the version installed."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


class UpstreamChangedError(RuntimeError):
    """An upstream's private part an adapter relies on is gone or changed shape."""


def installed_version(distribution: str) -> str:
    """The installed version of ``distribution`` ("not installed" when it is not)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"
