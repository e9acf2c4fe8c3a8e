"""A cache of trial work (trained LoRA adapters, evaluations), keyed by a hash of its inputs.

Two trials that need the same work share it: a LoRA configuration already trained is not trained
again to try another quantization level or merge weight, and an identical recipe is not evaluated
twice. Safe for concurrent workers on one machine (or on a shared file system with working
``flock``): one file lock per key serialises the builders, and an entry appears by an atomic
rename only once it is complete, so a crash never leaves a half-written entry that looks valid.

Each entry records what building it took (``seconds``), so a trial that reuses it can report the
compute it did not have to pay for again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

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

    def folder(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def lookup(self, kind: str, key: str) -> CacheResult | None:
        """The finished entry, or None (no lock taken: entries are immutable once present)."""
        folder = self.folder(kind, key)
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            return None
        return CacheResult(kind, key, folder, True, json.loads(meta_path.read_text()), 0.0)

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
                (staging / META_FILE).write_text(json.dumps(meta, indent=2, default=str))
                shutil.rmtree(folder, ignore_errors=True)  # a stale entry without meta.json
                os.replace(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return CacheResult(kind, key, folder, False, meta, waited)


def default_cache_dir(study_dir: Path | None = None) -> Path:
    """``$SWEEPER_WORK_CACHE`` if set, else ``./.sweeper-cache`` in the working directory."""
    env = os.environ.get("SWEEPER_WORK_CACHE")
    if env:
        return Path(env)
    return Path.cwd() / ".sweeper-cache"
