"""Command-line entry point ``sweeper``.

Every user mistake (a ``SweeperError`` or a ``CostModelError``) is printed as one line on stderr
and ends the process with exit code 2, without a traceback.
"""

from __future__ import annotations

import sys
import warnings

from cost_models.errors import CostModelError
from sweeper.cli._apps import app, prices_app
from sweeper.errors import SweeperError

# Command modules register themselves on the apps when imported.
from sweeper.cli import _study_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _cost_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _refresh_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _worker_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _report_commands  # noqa: E402,F401  isort: skip
from sweeper.cli import _export_commands  # noqa: E402,F401  isort: skip

__all__ = ["app", "main", "prices_app"]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 sweep/runtime failure, 2 bad input)."""
    # Optuna marks heartbeats and metric names experimental; they are what we rely on, on purpose.
    warnings.filterwarnings("ignore", message=".*is experimental.*")
    warnings.filterwarnings("ignore", message=".*is an experimental feature.*")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    try:
        app(args=argv, prog_name="sweeper", standalone_mode=False)
    except (SweeperError, CostModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # typer/click usage errors already printed their message
        return int(exc.code or 0)
    except KeyboardInterrupt:
        print(
            "interrupted: completed trials are saved; run the same command to resume.",
            file=sys.stderr,
        )
        return 130
    except Exception as exc:  # click's own usage errors in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return 2
        if isinstance(exc, click.exceptions.Abort):
            return 130
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
