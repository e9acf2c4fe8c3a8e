"""Generated from the app's own declarations: every usage error of every command is one line on
stderr naming the option, exit code 2, and no traceback.

Cases: an unknown option (every command), each required option or argument left out, a value
outside each option's choices, a non-number for each numeric option, and a number below each
declared minimum (0 and negative counts). They run against whichever typer is installed: CI runs
this file again with the newest typer and with a typer that still uses the separate click package
(scripts/cli_compat.sh).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sweeper.cli import app, main
from tests.sweeper.cli.commands import commands

REPO = Path(__file__).resolve().parents[3]
COMMANDS = list(commands(app))
PARAMS = [p for c in COMMANDS for p in c.params]
BY_PATH = {c.path: c for c in COMMANDS}


def cases() -> list[tuple[str, list[str], str]]:
    """(id, argv, what the one line must mention)."""
    out: list[tuple[str, list[str], str]] = []
    for c in COMMANDS:
        out.append(
            (
                f"{c.id}: unknown option",
                [*c.path, *c.required_argv(), "--no-such-option"],
                "--no-such-option",
            )
        )
    for p in PARAMS:
        c = BY_PATH[p.command]
        if p.required:
            mention = "Missing argument" if p.argument else p.flag
            out.append(
                (f"{c.id}: without {p.flag}", [*c.path, *c.required_argv(without=p)], mention)
            )
        if p.argument:
            continue
        rest = c.required_argv(without=p)
        if p.choices:
            out.append(
                (f"{c.id} {p.flag} not-a-choice", [*c.path, *rest, p.flag, "not-a-choice"], p.flag)
            )
        if p.kind in (int, float):
            out.append((f"{c.id} {p.flag} abc", [*c.path, *rest, p.flag, "abc"], p.flag))
        if p.minimum is not None:
            for bad in sorted({p.minimum - 1, -1}):
                if bad < p.minimum:
                    value = str(int(bad)) if p.kind is int else str(bad)
                    out.append(
                        (f"{c.id} {p.flag} {value}", [*c.path, *rest, p.flag, value], p.flag)
                    )
    return out


CASES = cases()


def test_the_generator_sees_every_command_and_the_known_cases() -> None:
    ids = {case_id for case_id, _, _ in CASES}
    assert {c.id for c in COMMANDS} >= {
        "run",
        "worker",
        "show",
        "quote",
        "estimate",
        "commit",
        "sync",
        "reprice",
        "report",
        "prices list",
        "prices refresh",
    }
    for known in (
        "run --trials 0",
        "quote --samples 0",
        "worker --total 0",
        "estimate: without --tokens",
        "commit --months 0",
        "estimate --method not-a-choice",
        "prices refresh: without aws|azure|ecb",
    ):
        assert known in ids, known
    assert len(CASES) > 60


def test_every_integer_option_declares_its_lower_bound() -> None:
    """0 and negative counts are refused by the command line itself, for every command."""
    unbounded = [f"{p.command} {p.flag}" for p in PARAMS if p.kind is int and p.minimum is None]
    assert not unbounded, unbounded


@pytest.mark.parametrize(("argv", "mention"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_usage_error_is_one_line_exit_2(
    argv: list[str], mention: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert code == 2, (code, out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("error: sweeper"), lines[0]
    assert mention in lines[0], lines[0]
    assert "--help" in lines[0]


def sweeper(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own, as a user's shell runs it."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from sweeper.cli import main; sys.exit(main())", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["estimate", "--params", "7e9"],
        ["run", "--trials", "0"],
        ["run", "studies/demo.yaml", "--trials", "0"],
        ["show", "--bogus"],
        ["no-such-command"],
    ],
    ids=" ".join,
)
def test_in_a_process_of_its_own(argv: list[str]) -> None:
    done = sweeper(*argv)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_project_errors_share_one_root_caught_at_the_edge(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cost-model error (unknown GPU), a sweeper error (a study file that does not exist): one
    line, exit 2."""
    from cost_models.errors import CostModelError
    from objectives.errors import ObjectiveError
    from sweeper.budget import BudgetError
    from sweeper.errors import SweeperError
    from user_errors import UserError

    for root in (CostModelError, ObjectiveError, SweeperError, BudgetError):
        assert issubclass(root, UserError), root
    for argv, mention in (
        (
            ["estimate", "--params", "7e9", "--tokens", "1e9", "--method", "lora", "--gpu", "A10O"],
            "Unknown GPU 'A10O'",
        ),
        (["quote", "no/such/study.yaml"], "no/such/study.yaml"),
    ):
        assert main(argv) == 2
        _, err = capsys.readouterr()
        assert len(err.strip().splitlines()) == 1 and mention in err, err
