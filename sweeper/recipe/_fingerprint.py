"""What a model folder or a training file *is*: a hash of its bytes, not of its name and size.

Two fine-tunes of one base have the same file names and sizes; only their contents differ, so only
a content hash keeps them from sharing cached LoRAs and scores. Hashing a model's weights takes
seconds per gigabyte, so each file's hash is memoised by (resolved path, size, mtime_ns): in the
process, and in a small JSON file beside the work cache (``content-hashes.json``) for the next
process. A file rewritten in place changes its mtime, hence its memo key, and is hashed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from filelock import FileLock

log = logging.getLogger(__name__)

MEMO_FILE = "content-hashes.json"
_HASH_CHUNK_BYTES = 1 << 20


class ContentHashes:
    """SHA-256 of files, memoised by path, size and mtime_ns (``memo_file``: shared on disk)."""

    def __init__(self, memo_file: Path | None = None) -> None:
        self.memo_file = memo_file
        self._memo: dict[tuple[str, int, int], str] = {}

    def file_sha256(self, path: str | Path) -> str:
        """SHA-256 of a file; of a folder (a ``datasets.save_to_disk`` training set), one over
        the relative names and content hashes of all its files, in sorted order."""
        resolved = Path(path).resolve()
        if resolved.is_dir():
            digest = hashlib.sha256()
            for item in sorted(p for p in resolved.rglob("*") if p.is_file()):
                digest.update(str(item.relative_to(resolved)).encode() + b"\0")
                digest.update(self.file_sha256(item).encode())
            return digest.hexdigest()
        stat = resolved.stat()
        key = (str(resolved), stat.st_size, stat.st_mtime_ns)
        digest = self._memo.get(key) or self._stored(key)
        if digest is None:
            digest = _sha256_of(resolved)
            self._store(key, digest)
        self._memo[key] = digest
        return digest

    def folder_fingerprint(self, folder: Path) -> str:
        """20 hex digits over the names and content hashes of the folder's top-level files."""
        files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
        parts = [f"{f.name}:{self.file_sha256(f)}" for f in files]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]

    # -- the memo on disk ------------------------------------------------------------------------

    def _stored(self, key: tuple[str, int, int]) -> str | None:
        entry = _read_memo(self.memo_file).get(key[0]) if self.memo_file else None
        if isinstance(entry, dict) and [entry.get("size"), entry.get("mtime_ns")] == list(key[1:]):
            digest = entry.get("sha256")
            return digest if isinstance(digest, str) else None
        return None

    def _store(self, key: tuple[str, int, int], digest: str) -> None:
        if self.memo_file is None:
            return
        try:
            self.memo_file.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(f"{self.memo_file}.lock"):
                memo = _read_memo(self.memo_file)
                memo[key[0]] = {"size": key[1], "mtime_ns": key[2], "sha256": digest}
                write_json_atomically(self.memo_file, memo)
        except OSError as exc:  # a read-only cache still works, it only hashes again
            log.warning("could not write the content-hash memo %s: %s", self.memo_file, exc)


def write_json_atomically(path: Path, data: object) -> None:
    """Write ``data`` as JSON to ``path`` through a temp file that is fsynced, then renamed: a
    reader sees the old file or the new one, never a part, also after a power cut."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_memo(path: Path | None) -> dict:
    if path is None or not path.is_file():
        return {}
    try:
        memo = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable content-hash memo %s (rebuilt): %s", path, exc)
        return {}
    return memo if isinstance(memo, dict) else {}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
