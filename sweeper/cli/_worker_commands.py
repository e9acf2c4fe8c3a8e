"""``sweeper worker`` and ``sweeper sync``: one study shared by workers on several machines."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import typer
from rich.markup import escape

from sweeper.cli._apps import app
from sweeper.cli._study_commands import (
    DeviceOpt,
    StorageOpt,
    StudyArg,
    TrackingOpt,
    UpdateBudgetOpt,
    console,
    exit_if_every_trial_failed,
    pin_device,
    prepare_sweep,
    refuse_over_budget,
)


def _finished(study_name: str, storage_url: str) -> int:
    """COMPLETE and PRUNED trials the study has (0 when it does not exist yet)."""
    from sweeper.errors import StorageError
    from sweeper.storage import FINISHED_STATES, load_existing_study, storage_exists

    if not storage_exists(storage_url):
        return 0
    try:
        study = load_existing_study(study_name, storage_url)
    except StorageError:  # not created yet: nothing finished
        return 0
    return len(study.get_trials(deepcopy=False, states=FINISHED_STATES))


@app.command("worker")
def worker_command(
    study: str = StudyArg,
    storage: str | None = StorageOpt,
    tracking_uri: str | None = TrackingOpt,
    total: int | None = typer.Option(
        None,
        "--total",
        min=1,
        help="Stop once the study has this many finished (COMPLETE or PRUNED) trials "
        "(default: the study's `trials`). FAIL does not count; a killed worker's trial is retried.",
    ),
    no_mlflow: bool = typer.Option(
        False, "--no-mlflow", help="Keep results in the study storage only."
    ),
    no_baseline: bool = typer.Option(
        False, "--no-baseline", help="Skip the once-per-study base-model evaluation."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the libraries' own progress bars and logs."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Start even when the quote (P50) of the trials still to run exceeds the remaining "
        "budget; the ledger still refuses each trial that does not fit.",
    ),
    device: str = DeviceOpt,
    update_budget: bool = UpdateBudgetOpt,
) -> None:
    """Join a study (creating it if absent) and take trials until it has --total finished ones.

    Start one on each machine with the same --storage (PostgreSQL) and --tracking-uri. Running
    trials send heartbeats (SWEEPER_HEARTBEAT_INTERVAL_S, default 30 s); a trial silent for
    SWEEPER_HEARTBEAT_GRACE_S (default 120 s) is failed and queued again for the next worker.
    On a machine with several GPUs, start one worker per GPU with --device cuda:N.
    """
    device = pin_device(device)
    loaded, storage_url, tracking = prepare_sweep(study, storage, tracking_uri, no_mlflow, verbose)
    from sweeper.runner import run_sweep

    total_trials = total or loaded.spec.trials
    if not force:
        refuse_over_budget(loaded, total_trials - _finished(loaded.name, storage_url), storage_url)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    console.print(
        f"worker {worker}: study {loaded.name} until {total_trials} finished trial(s)",
        markup=False,
    )

    def on_trial(report, _study) -> None:
        values = "  ".join(f"{k}={v:.4g}" for k, v in report.values.items())
        line = f"worker {worker}: trial {report.number:>4} {report.state:<8} {values}"
        if report.fail_reason:
            line += f"  reason: {report.fail_reason}"
        console.print(line, highlight=False, markup=False)

    summary = run_sweep(
        loaded,
        n_trials=total_trials,
        total_trials=total_trials,
        storage_url=storage_url,
        tracking_uri=tracking,
        artifact_root=Path.cwd() / "mlartifacts",
        baseline=not no_baseline,
        on_trial=on_trial,
        on_status=lambda msg: console.print(f"[dim]{escape(msg)}[/]"),
        device=device,
        update_budget=update_budget,
    )
    states = ", ".join(f"{v} {k.lower()}" for k, v in sorted(summary.states.items()))
    console.print(
        f"worker {worker}: done, {summary.trials_run} trial(s) here; study has {states}",
        highlight=False,
    )
    exit_if_every_trial_failed(summary)


@app.command("sync")
def sync_command(
    study: str = StudyArg,
    storage: str | None = StorageOpt,
    tracking_uri: str | None = TrackingOpt,
) -> None:
    """Write to MLflow every finished trial it lacks (e.g. run while the server was down).

    Safe to repeat and to run beside workers: no trial gets a second run.
    """
    import json

    from sweeper.provenance import provenance_tags
    from sweeper.storage import Claims, default_storage_url, load_existing_study
    from sweeper.study import load_study
    from sweeper.sync import sync_trials
    from sweeper.tracking import Tracker, default_tracking_uri, storage_id
    from sweeper.trial_record import STUDY_ATTR_OBJECTIVES

    loaded = load_study(study)
    storage_url = storage or default_storage_url()
    tracking = tracking_uri or default_tracking_uri()
    optuna_study = load_existing_study(loaded.name, storage_url)
    tracker = Tracker(tracking, loaded.name)
    parent_id = tracker.parent_run(
        loaded.name,
        storage_id(storage_url),
        params={
            "study_file": str(loaded.path),
            "objectives": json.dumps(optuna_study.user_attrs.get(STUDY_ATTR_OBJECTIVES, {})),
        },
        tags=provenance_tags(loaded.sha256, loaded.spec.seed),
        storage_url=storage_url,
        reopen=False,
    )
    with Claims(storage_url) as claims:
        report = sync_trials(optuna_study, tracker, parent_id, claims)
    console.print(
        f"sync {loaded.name}: {len(report.created)} run(s) created {report.created}, "
        f"{len(report.closed)} closed {report.closed}, {len(report.present)} already in MLflow"
        + (
            f", {len(report.busy)} being written by another process {report.busy}"
            if report.busy
            else ""
        ),
        highlight=False,
    )
