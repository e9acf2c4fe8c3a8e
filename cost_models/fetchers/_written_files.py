"""Where a refresh writes, and the rule that it never overwrites a file the user edited.

Each directory a refresh writes into holds ``.sweeper-written.json``: the sha256 of every file
sweeper wrote there. A file whose bytes no longer match its record (or that has no record) was
written or edited by someone else and is never replaced, even with ``--force``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import tempfile
from datetime import date
from pathlib import Path

from cost_models import CATALOG_SCHEMA_VERSION
from cost_models.fetchers._errors import CatalogFileConflictError
from user_cache import CACHE_DIR_ENV as CACHE_DIR_ENV  # re-exported (cost_models.fetchers)
from user_cache import cache_dir

MANIFEST_NAME = ".sweeper-written.json"


class WriteOutcome(str, enum.Enum):
    WRITTEN = "written"
    """The file did not exist."""
    REPLACED = "replaced"
    """An earlier refresh's file, unedited, was replaced (``force``)."""
    UNCHANGED = "unchanged"
    """The file already held exactly these bytes; nothing was written."""


def dated_catalog_path(provider: str, day: date) -> Path:
    """``<cache>/catalogs/v1/<provider>-<YYYY-MM-DD>.csv``: the default target of a refresh."""
    return (
        cache_dir()
        / "catalogs"
        / f"v{CATALOG_SCHEMA_VERSION}"
        / f"{provider}-{day.isoformat()}.csv"
    )


def dated_fx_path(source: str, day: date) -> Path:
    """``<cache>/fx/<source>-<YYYY-MM-DD>.xml``, dated by the day the rates are for."""
    return cache_dir() / "fx" / f"{source}-{day.isoformat()}.xml"


def refresh_target(out_path: Path | None, default_path: Path) -> Path:
    """``out_path`` (a file, or a directory that gets the default file name), else the default."""
    if out_path is None:
        return default_path
    return out_path / default_path.name if out_path.is_dir() else out_path


def write_refreshed_file(path: Path, content: bytes, *, force: bool) -> WriteOutcome:
    """Write ``content`` to ``path`` unless that would lose someone's edits.

    A new path is written. Existing bytes equal to ``content`` are left alone. Otherwise the
    existing file is replaced only if sweeper wrote it, it is unedited, and ``force`` is set;
    every other case raises :class:`CatalogFileConflictError` saying what to do.
    """
    existing = path.read_bytes() if path.exists() else None
    if existing == content:
        _record(path, content)
        return WriteOutcome.UNCHANGED
    if existing is not None:
        recorded = _manifest(path.parent).get(path.name)
        if recorded != _sha256(existing):
            whose = (
                "was edited after sweeper wrote it" if recorded else "was not written by sweeper"
            )
            raise CatalogFileConflictError(
                f"{path} {whose}; a refresh never overwrites it. Move it away, "
                "or write the refresh elsewhere with --out PATH"
            )
        if not force:
            raise CatalogFileConflictError(
                f"{path} already exists from an earlier refresh; pass --force to replace it, "
                "or --out PATH to write elsewhere"
            )
    _atomic_write(path, content)
    _record(path, content)
    return WriteOutcome.WRITTEN if existing is None else WriteOutcome.REPLACED


def _record(path: Path, content: bytes) -> None:
    manifest = _manifest(path.parent)
    manifest[path.name] = _sha256(content)
    text = json.dumps(dict(sorted(manifest.items())), indent=2) + "\n"
    _atomic_write(path.parent / MANIFEST_NAME, text.encode())


def _manifest(directory: Path) -> dict[str, str]:
    """The recorded hashes; an unreadable manifest counts as empty, so nothing gets overwritten."""
    try:
        loaded = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
