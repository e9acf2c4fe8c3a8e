"""Command-line entry point ``sweeper``.

The edge where every way a command can end becomes an exit code (``sweeper.cli._exit_codes``):
a ``UserError`` (the common root of the sweeper's, the objectives' and the cost model's errors) or
a usage error from typer/click is printed as one line on stderr with exit code 2 and no
traceback; Ctrl-C or SIGTERM end with 130 or 143 after the command has cleaned up; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

import signal
import sys
import warnings

from sweeper.cli import _exit_codes as exit_codes
from sweeper.cli._apps import app, prices_app, version_line
from sweeper.cli._interrupt import interrupts_raised
from sweeper.cli._usage_errors import (
    abort_types,
    is_no_args_help,
    one_line,
    usage_error_types,
    usage_message,
)
from user_errors import UserError

# Command modules register themselves on the apps when imported.
from sweeper.cli import _study_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import cost  # noqa: E402,F401  isort: skip
from sweeper.cli import _refresh_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _worker_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _report_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _probe_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _export_commands  # noqa: E402,F401  isort: skip

__all__ = ["app", "exit_codes", "main", "prices_app", "version_line"]

INTERRUPTED_MESSAGE = (
    "interrupted ({signal}): completed trials are saved; run the same command to resume."
)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return its exit code (see ``sweeper.cli._exit_codes``)."""
    # Optuna marks heartbeats and metric names experimental; they are what we rely on, on purpose.
    warnings.filterwarnings("ignore", message=".*is experimental.*")
    warnings.filterwarnings("ignore", message=".*is an experimental feature.*")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    with interrupts_raised() as watch:
        try:
            code = _invoke(argv)
        except KeyboardInterrupt:  # raised outside typer's own handling (e.g. while importing)
            code = exit_codes.interrupted(watch.signum or signal.SIGINT)
    if watch.signum is not None:
        print(INTERRUPTED_MESSAGE.format(signal=watch.signal_name), file=sys.stderr)
        return exit_codes.interrupted(watch.signum)
    return code


def _invoke(argv: list[str] | None) -> int:
    """The command's exit code; typer's ``Exit(n)`` comes back as the return value ``n``."""
    try:
        returned = app(args=argv, prog_name="sweeper", standalone_mode=False)
    except UserError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exit_codes.USAGE
    except SystemExit as exc:  # shell completion, or a library that exits
        if exc.code is None:
            return exit_codes.OK
        return exc.code if isinstance(exc.code, int) else exit_codes.UNEXPECTED
    except Exception as exc:
        if isinstance(exc, usage_error_types()):
            if is_no_args_help(exc):  # `sweeper` or `sweeper prices` alone: the help
                print(exc.format_message(), file=sys.stderr)  # type: ignore[attr-defined]
            else:
                print(f"error: {usage_message(exc)}", file=sys.stderr)
            return exit_codes.USAGE
        if isinstance(exc, abort_types()):
            return exit_codes.interrupted(signal.SIGINT)  # Ctrl-C, or end of input at a prompt
        raise
    return returned if isinstance(returned, int) else exit_codes.OK


if __name__ == "__main__":
    sys.exit(main())
