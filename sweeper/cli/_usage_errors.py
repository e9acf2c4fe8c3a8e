"""Typer's usage errors, whichever click they come from, as one line.

Typer before 0.29 raises ``click.exceptions.*``; typer 0.29 and later vendor their own copy of
click as ``typer._click`` and raise ``typer._click.exceptions.*``, which ``click``'s classes do not
match (and its ``Abort``/``Exit`` live in ``typer.exceptions``). The classes are therefore looked
up in every module that may define them, so the CLI's edge catches them with any typer the lock or
a user's environment holds (tests/sweeper/cli runs against both kinds in CI).
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

#: Where typer's exception classes may live, newest layout first.
EXCEPTION_MODULES = ("typer._click.exceptions", "typer.exceptions", "click.exceptions")


@functools.lru_cache(maxsize=1)
def _modules() -> tuple[ModuleType, ...]:
    found = []
    for name in EXCEPTION_MODULES:
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return tuple(found)


def _classes(name: str) -> tuple[type[BaseException], ...]:
    return tuple({getattr(m, name) for m in _modules() if isinstance(getattr(m, name, None), type)})


@functools.lru_cache(maxsize=1)
def usage_error_types() -> tuple[type[BaseException], ...]:
    """Every click ``ClickException`` class in reach: usage errors (unknown or missing option, bad
    value, no such command) and the other errors click reports about the command line."""
    return _classes("ClickException")


@functools.lru_cache(maxsize=1)
def abort_types() -> tuple[type[BaseException], ...]:
    """Every click/typer ``Abort``: raised for end-of-input at a prompt, or Ctrl-C in older
    clicks."""
    return _classes("Abort")


def one_line(text: str) -> str:
    """``text`` on one line: click wraps long messages and lists choices one per line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def usage_message(exc: BaseException) -> str:
    """``sweeper estimate: Missing option '--tokens'. (sweeper estimate --help)``: the command,
    click's message, and where the valid usage is described."""
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "sweeper"
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    return f"{command}: {one_line(message)} (see {command} --help)"


def is_no_args_help(exc: BaseException) -> bool:
    """Click 8.2+ raises this for a group called without a command: it carries the help text."""
    return type(exc).__name__ == "NoArgsIsHelpError"
