"""The CLI's own behaviour around the commands: --version, shell completion, exit codes a pipeline
can rely on, the default tracking URI, and ``sweeper show`` in a narrow terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import optuna
import pytest
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution
from rich.console import Console

import sweeper
from sweeper.cli import exit_codes, main
from sweeper.cli._study_commands import trial_line
from sweeper.provenance import checkout_sha
from sweeper.runner import TrialReport
from sweeper.storage import open_storage, open_study
from sweeper.study import load_study
from tests.conftest import write_study

REPO = Path(__file__).resolve().parents[3]
INST_REASON = "ValueError: the prompt ends with [/INST] but the template expects [INST]"


def sweeper_process(*argv: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own (this checkout's code), as a user's shell runs it."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from sweeper.cli import main; sys.exit(main())", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


# --- --version and completion -------------------------------------------------------------------


def test_version_names_the_package_version_and_the_checkout_commit() -> None:
    done = sweeper_process("--version")
    assert done.returncode == 0, done
    sha = checkout_sha(REPO) or "unknown"
    assert done.stdout.strip() == f"sweeper {sweeper.__version__} (git {sha})"
    if (REPO / ".git").exists():
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert sha == head


def test_the_commit_is_unknown_outside_a_checkout(tmp_path: Path) -> None:
    assert checkout_sha(tmp_path) is None
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert checkout_sha(tmp_path) == head.strip()
    assert checkout_sha(tmp_path / "sub") is None  # inside a checkout, but not its top


#: Typer detects the user's shell from the process tree; a test names it instead, the way typer's
#: own tests do (under CI the parent is `sh`, which typer does not complete).
NAMED_SHELL = {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}


def test_shell_completion_is_shown_installed_and_answers(tmp_path: Path) -> None:
    shown = sweeper_process("--show-completion", "bash", **NAMED_SHELL)
    assert shown.returncode == 0, shown
    assert "_SWEEPER_COMPLETE=complete_bash" in shown.stdout
    assert "complete -o default -F _sweeper_completion sweeper" in shown.stdout
    # What bash runs on <TAB> after `sweeper ru` and `sweeper run --tr`.
    words = sweeper_process(
        COMP_WORDS="sweeper ru", COMP_CWORD="1", _SWEEPER_COMPLETE="complete_bash"
    )
    assert words.stdout.split() == ["run"], words
    options = sweeper_process(
        COMP_WORDS="sweeper run --tr", COMP_CWORD="2", _SWEEPER_COMPLETE="complete_bash"
    )
    assert set(options.stdout.split()) == {"--trials", "--tracking-uri"}, options
    installed = sweeper_process(
        "--install-completion", "bash", HOME=str(tmp_path), SHELL="/bin/bash", **NAMED_SHELL
    )
    assert installed.returncode == 0, installed
    script = tmp_path / ".bash_completions" / "sweeper.sh"
    assert "_sweeper_completion" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


# --- exit codes ----------------------------------------------------------------------------------


def test_show_and_report_of_a_study_that_does_not_exist_create_nothing(
    tiny_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for command in ("show", "report", "reprice", "sync"):
        assert main([command, str(tiny_study)]) == exit_codes.USAGE, command
        _, err = capsys.readouterr()
        assert err.strip().splitlines() == [
            f"error: no study named 'tiny': the storage sqlite:///{work / 'sweeper.db'} "
            "does not exist"
        ], command
    assert list(work.iterdir()) == []
    # A storage that exists but holds other studies: they are named.
    other = tmp_path / "other.db"
    optuna.create_study(study_name="other", storage=f"sqlite:///{other}")
    assert main(["show", str(tiny_study), "--storage", f"sqlite:///{other}"]) == exit_codes.USAGE
    _, err = capsys.readouterr()
    assert "no study named 'tiny'" in err and "studies there: other" in err


@pytest.fixture
def broken_model_study(tiny_study: Path, tiny_model_dir: Path, tmp_path: Path) -> Path:
    """The tiny study on a copy of the model whose weights file is cut short: every trial fails
    when it loads the model."""
    model = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, model)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    data = yaml.safe_load(tiny_study.read_text())
    data["model"]["path"] = str(model)
    return write_study(tmp_path / "broken.yaml", data)


def test_a_run_whose_every_trial_failed_exits_3_and_honours_mlflow_tracking_uri(
    broken_model_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    tracking = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    storage = f"sqlite:///{tmp_path / 'sweeper.db'}"
    argv = ["run", str(broken_model_study), "--storage", storage, "--no-baseline"]

    assert main(argv) == exit_codes.ALL_TRIALS_FAILED == 3
    out, err = capsys.readouterr()
    assert "every trial of this run failed (2); exit code 3" in err
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert [t.state.name for t in study.trials] == ["FAIL", "FAIL"]
    # The runs went to $MLFLOW_TRACKING_URI, nothing to ./mlflow.db.
    assert not (work / "mlflow.db").exists()
    mlflow.set_tracking_uri(tracking)
    runs = mlflow.search_runs(experiment_names=["tiny"], output_format="list")
    trial_runs = [r for r in runs if r.data.tags.get("sweeper.role") == "trial"]
    assert sorted(r.info.status for r in trial_runs) == ["FAILED", "FAILED"]
    assert f"--backend-store-uri{tracking}" in "".join(out.split())  # wrapped at 80 columns


# --- what is printed ----------------------------------------------------------------------------


def test_a_fail_reason_with_brackets_is_printed_as_it_is() -> None:
    report = TrialReport(
        number=3,
        state="FAIL",
        values={},
        cost_eur_trial=0.01,
        spent_eur_total=0.02,
        fail_reason=INST_REASON,
    )
    console = Console(record=True, width=300)
    console.print(trial_line(report), soft_wrap=True)  # rich markup would raise on [/INST]
    assert INST_REASON in console.export_text()


@pytest.fixture
def stored_trials(tiny_study: Path, tmp_path: Path) -> tuple[Path, str]:
    """The tiny study's storage holding two completed trials and one failed one, recorded with
    the attributes the runner writes."""
    loaded = load_study(tiny_study)
    url = f"sqlite:///{tmp_path / 'shown.db'}"
    storage = open_storage(url)
    study = open_study(loaded, storage)
    distributions = {
        "lora_r": CategoricalDistribution([4, 8, 16, 32]),
        "learning_rate": FloatDistribution(2e-4, 3e-3, log=True),
        "target_modules": CategoricalDistribution(["q_v", "attention", "all_linear"]),
    }
    for quality, cost_eur, lr in ((0.9833, 5.1484, 0.0027188), (0.95, 2.5791, 0.0016556)):
        study.add_trial(
            optuna.trial.create_trial(
                params={"lora_r": 16, "learning_rate": lr, "target_modules": "all_linear"},
                distributions=distributions,
                values=[quality, cost_eur],
                user_attrs={
                    "metrics": {
                        "quality": quality,
                        "quality_stderr": 0.0081,
                        "cost_eur_train_projected": cost_eur,
                        "cost_eur_trial": 0.0004,
                    }
                },
            )
        )
    study.add_trial(
        optuna.trial.create_trial(
            params={"lora_r": 8, "learning_rate": 0.001, "target_modules": "q_v"},
            distributions=distributions,
            state=optuna.trial.TrialState.FAIL,
            user_attrs={"metrics": {"cost_eur_trial": 0.0001}, "fail_reason": INST_REASON},
        )
    )
    storage.engine.dispose()
    return tiny_study, url


def test_show_in_80_columns_keeps_every_name_and_value_whole(
    stored_trials: tuple[Path, str],
) -> None:
    study, url = stored_trials
    done = sweeper_process("show", str(study), "--storage", url, COLUMNS="80")
    assert done.returncode == 0, done
    lines = done.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, done.stdout
    assert "…" not in done.stdout
    words = done.stdout.split()
    for whole in (
        "quality",
        "cost_eur_train_projected",
        "cost_eur_trial",
        "0.9833",
        "5.148",
        "2.579",
        "learning_rate=0.002719,",
        "target_modules=all_linear",
    ):
        assert whole in words, whole
    # The fail reason, brackets included, may wrap but is all there.
    assert INST_REASON in " ".join(words)


def test_show_in_a_wide_terminal_is_one_table(stored_trials: tuple[Path, str]) -> None:
    study, url = stored_trials
    done = sweeper_process("show", str(study), "--storage", url, COLUMNS="250")
    assert done.returncode == 0, done
    header = next(line for line in done.stdout.splitlines() if line.startswith("┃ #"))
    assert "┃ cost_eur_train_projected" in header and "┃ params" in header
    assert "…" not in done.stdout
    assert INST_REASON in done.stdout
