"""Ctrl-C and SIGTERM: one way to stop, whichever the signal.

While a command runs, SIGINT raises ``KeyboardInterrupt`` in the main thread (Python's own
behaviour) and SIGTERM (a worker stopped by systemd or Kubernetes) raises ``Terminated``, a
``KeyboardInterrupt``, so every layer that cleans up after Ctrl-C does the same after SIGTERM: the
running trial is recorded FAIL with reason "interrupted", its budget reservation is settled at what
it spent, and its MLflow run is closed (``sweeper.runner``). A second signal during that clean-up
ends the process at once.

Typer turns a ``KeyboardInterrupt`` into exit code 130 before the caller sees it, so the signal
that arrived is recorded here (``InterruptWatch.signum``) and the CLI's edge decides the exit code
from it (``sweeper.cli._exit_codes.interrupted``).
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from sweeper.cli._exit_codes import interrupted

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds after an interrupt was dropped (raised inside a finalizer) before it is raised again.
REDELIVER_AFTER_S = 0.05


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; handled everywhere exactly like Ctrl-C."""


@dataclass
class InterruptWatch:
    """The first handled signal that arrived while the command ran (``None``: none did)."""

    signum: int | None = None
    #: The interrupt was swallowed (see ``interrupts_raised``) and is being raised again.
    redelivering: bool = False

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""


@contextmanager
def interrupts_raised() -> Iterator[InterruptWatch]:
    """Within the block, the first SIGINT or SIGTERM raises in the main thread; the next one ends
    the process at once with the signal's exit code, without further clean-up. Outside the main
    thread (where handlers cannot be installed) Python's defaults stay.

    A signal can arrive while a finalizer or a weakref callback runs (SQLAlchemy's, during garbage
    collection), where Python drops the exception (``sys.unraisablehook``): the sweep would go on.
    Such a dropped interrupt is raised again in the main thread a moment later.
    """
    watch = InterruptWatch()
    if threading.current_thread() is not threading.main_thread():
        yield watch
        return

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if watch.signum is not None and not watch.redelivering:
            os._exit(interrupted(signum))
        watch.signum, watch.redelivering = signum, False
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous_hook = sys.unraisablehook
    pending: list[threading.Timer] = []

    def on_unraisable(unraisable: Any) -> None:
        if watch.signum is not None and isinstance(unraisable.exc_value, KeyboardInterrupt):
            watch.redelivering = True
            # From another thread, a moment later: once the callback has returned (raised from
            # here, it would be dropped again). Dropped again anyway, it comes back here.
            redeliver = threading.Timer(REDELIVER_AFTER_S, _thread.interrupt_main, (watch.signum,))
            redeliver.daemon = True
            redeliver.start()
            pending.append(redeliver)
            return
        previous_hook(unraisable)

    previous = {s: signal.signal(s, on_signal) for s in HANDLED_SIGNALS}
    sys.unraisablehook = on_unraisable
    try:
        yield watch
    finally:
        for redeliver in pending:  # the block ended first: nothing left to interrupt
            redeliver.cancel()
        sys.unraisablehook = previous_hook
        for s, handler in previous.items():
            signal.signal(s, handler)
