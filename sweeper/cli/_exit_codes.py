"""The exit codes of ``sweeper``, one meaning each, so that a pipeline can branch on them.

The README's "Exit codes" table lists the same.
"""

from __future__ import annotations

import signal

#: Everything asked for was done (a sweep may still contain some failed trials).
OK = 0
#: An unexpected error: a bug, or a failure the tool could not attribute to the input. It prints
#: its traceback.
UNEXPECTED = 1
#: Bad input, reported in one line on stderr: a usage error (unknown or missing option, bad
#: value), a study file or storage that cannot be used, an unknown name, a study that does not
#: exist.
USAGE = 2
#: ``run`` / ``worker``: every trial this invocation ran failed (nothing completed or pruned).
ALL_TRIALS_FAILED = 3


def interrupted(signum: int) -> int:
    """128 plus the signal's number, the shell's convention: 130 for Ctrl-C (SIGINT), 143 for
    SIGTERM."""
    return 128 + int(signum)


INTERRUPTED_SIGINT = interrupted(signal.SIGINT)
INTERRUPTED_SIGTERM = interrupted(signal.SIGTERM)
