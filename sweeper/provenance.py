"""Where a trial's numbers came from: package version, git commit, study file hash, seed."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import sweeper


@functools.lru_cache(maxsize=1)
def git_sha() -> str | None:
    """The commit of the source tree the sweeper runs from, if it is a git checkout."""
    return checkout_sha(Path(__file__).resolve().parent.parent)


def checkout_sha(root: Path) -> str | None:
    """The commit checked out in ``root`` when ``root`` is the top of a git checkout; ``None``
    otherwise (an installed copy in a virtual environment inside some other checkout is not one:
    it has no ``.git`` of its own)."""
    if not (root / ".git").exists():  # a folder in a clone, a file in a worktree
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha or None


def provenance_tags(
    study_sha256: str, seed: int, extra: dict[str, str] | None = None
) -> dict[str, str]:
    tags = {
        "sweeper.version": sweeper.__version__,
        "sweeper.study_sha256": study_sha256,
        "sweeper.seed": str(seed),
    }
    sha = git_sha()
    if sha:
        tags["sweeper.git_sha"] = sha
    tags.update(extra or {})
    return tags
