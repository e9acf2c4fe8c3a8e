"""A cache of trial work (trained LoRA adapters, evaluations), keyed by a hash of its inputs.

Two trials that need the same work share it: a LoRA configuration already trained is not trained
again to try another quantization level or merge weight, and an identical recipe is not evaluated
twice. Safe for concurrent workers on one machine (or on a shared file system with working
``flock``): one file lock per key serialises the builders, and an entry appears by an atomic
rename only once it is complete, so a crash never leaves a half-written entry that looks valid.

Each entry records what building it took (``seconds``), so a trial that reuses it can report the
compute it did not have to pay for again.

Integrity: every file of an entry is fsynced before its ``meta.json`` (itself written to a temp
file, fsynced, renamed) and before the entry's rename, so a power cut leaves no entry that looks
valid but is not. An entry whose ``meta.json`` is unreadable, or that holds a symbolic link
leading out of it, is a miss (logged) and is rebuilt; an entry folder that is itself a symbolic
link is removed (the link only), never followed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from sweeper.recipe._fingerprint import MEMO_FILE, ContentHashes, fsync_dir, write_json_atomically
from user_cache import work_cache_dir

log = logging.getLogger(__name__)

META_FILE = "meta.json"


def cache_key(kind: str, inputs: dict[str, Any]) -> str:
    """A stable 20-hex-digit key of ``kind`` and JSON-serialisable ``inputs`` (order-free)."""
    canonical = json.dumps({"kind": kind, "inputs": inputs}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class CacheResult:
    """An entry of the cache: its folder, whether this call found it built, and its metadata."""

    kind: str
    key: str
    path: Path
    hit: bool
    meta: dict[str, Any]
    waited_seconds: float

    @property
    def build_seconds(self) -> float:
        """What building the entry took when it was built (by whichever trial built it)."""
        return float(self.meta.get("seconds", 0.0))


class WorkCache:
    """Entries under ``root/<kind>/<key>/`` with a ``meta.json`` written last."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        #: Content hashes of models and training files, memoised beside the entries.
        self.hashes = ContentHashes(self.root / MEMO_FILE)

    def folder(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def lookup(self, kind: str, key: str) -> CacheResult | None:
        """The finished entry, or None (no lock taken: entries are immutable once present).

        An entry that cannot be trusted -- unreadable ``meta.json``, a link out of the cache --
        is None too (logged), and ``get_or_build`` replaces it.
        """
        folder = self.folder(kind, key)
        if not self._contained(folder):
            return None
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("cache entry %s/%s is corrupt (%s); rebuilding it", kind, key, exc)
            return None
        if not isinstance(meta, dict) or "built_at" not in meta:
            log.warning("cache entry %s/%s has incomplete metadata; rebuilding it", kind, key)
            return None
        return CacheResult(kind, key, folder, True, meta, 0.0)

    def _contained(self, folder: Path) -> bool:
        """Whether ``folder`` and everything in it stay inside the cache. An entry folder that is
        a symbolic link is unlinked (the link, not its target)."""
        root = self.root.resolve()
        if folder.is_symlink():
            log.warning("cache entry %s is a symbolic link; removing the link", folder)
            folder.unlink(missing_ok=True)
            return False
        if not folder.exists():
            return False
        inside = folder.resolve()
        if not inside.is_relative_to(root):
            log.warning("cache entry %s leads out of the cache to %s; ignoring it", folder, inside)
            return False
        for path in inside.rglob("*"):
            if path.is_symlink() and not path.resolve().is_relative_to(inside):
                log.warning("cache entry %s links out of it (%s); rebuilding it", folder, path)
                return False
        return True

    def get_or_build(
        self,
        kind: str,
        inputs: dict[str, Any],
        build: Callable[[Path], dict[str, Any]],
        *,
        key: str | None = None,
    ) -> CacheResult:
        """The entry for ``inputs``; built with ``build(folder)`` (returning its metadata) if
        absent.

        ``build`` writes into an empty staging folder; the staging folder becomes the entry only
        after ``build`` returns. If ``build`` raises, nothing is cached and the error propagates.
        A worker that finds another building the same key waits for it and then reuses it.
        """
        key = key or cache_key(kind, inputs)
        found = self.lookup(kind, key)
        if found is not None:
            return found
        folder = self.folder(kind, key)
        if folder.parent.is_symlink():  # entries are built inside the cache only
            log.warning("cache folder %s is a symbolic link; removing the link", folder.parent)
            folder.parent.unlink()
        folder.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with FileLock(str(folder) + ".lock"):
            waited = time.perf_counter() - started
            found = self.lookup(kind, key)
            if found is not None:  # another worker built it while we waited
                return CacheResult(kind, key, found.path, True, found.meta, waited)
            staging = folder.parent / f".{key}.{os.getpid()}.staging"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            try:
                build_started = time.perf_counter()
                meta = dict(build(staging))
                meta.setdefault("seconds", time.perf_counter() - build_started)
                meta["inputs"] = inputs
                meta["built_at"] = time.time()
                _fsync_files(staging)
                write_json_atomically(staging / META_FILE, meta)
                _remove_stale(folder)  # an entry without meta.json, or one not to be trusted
                os.replace(staging, folder)
                fsync_dir(folder.parent)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return CacheResult(kind, key, folder, False, meta, waited)


def _fsync_files(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def _remove_stale(folder: Path) -> None:
    if folder.is_symlink():
        folder.unlink()  # never rmtree through a link
    else:
        shutil.rmtree(folder, ignore_errors=True)


def default_cache_dir(study_dir: Path | None = None) -> Path:
    """``$SWEEPER_WORK_CACHE`` if set, else ``./.sweeper-cache`` in the working directory
    (``user_cache.work_cache_dir``)."""
    return work_cache_dir()
