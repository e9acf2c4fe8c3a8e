"""``sweeper run``, ``sweeper quote`` and ``sweeper show``: the study commands."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from sweeper.cli import _exit_codes as exit_codes
from sweeper.cli._apps import app
from sweeper.metrics import COST_EUR_TRIAL
from sweeper.redaction import redact_url

if TYPE_CHECKING:  # the quote is imported when a command runs (start-up speed)
    from sweeper.quote import ModelSummary, Quote, SimulationSummary, TargetSummary

DEFAULT_STUDY = "demo"
#: Columns to measure a table in, to learn how wide it would be with nothing cut.
UNBOUNDED_WIDTH = 100_000
console = Console(stderr=False)
err_console = Console(stderr=True)

StudyArg = typer.Argument(
    DEFAULT_STUDY, help="A study YAML file, or a bundled study name (default: demo)."
)
StorageOpt = typer.Option(
    None,
    "--storage",
    envvar="SWEEPER_STORAGE",
    help="Optuna storage URL (default: sqlite:///./sweeper.db). Keep passwords off the command "
    "line: set SWEEPER_STORAGE, or leave the password out and use PGPASSWORD or ~/.pgpass.",
)
TrackingOpt = typer.Option(
    None,
    "--tracking-uri",
    help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db).",
)
UpdateBudgetOpt = typer.Option(
    False,
    "--update-budget",
    help="Replace the study's stored budget by the study file's budget_eur (without it, a "
    "budget_eur that differs from the stored one is refused).",
)
DeviceOpt = typer.Option(
    "auto",
    "--device",
    help="Where trials run: auto (the first GPU, else the CPU), cpu, or cuda:N (this process "
    "takes GPU N alone: one worker per GPU).",
)


def pin_device(device: str) -> str:
    """Claim the GPU ``--device`` names for this process before CUDA starts; the device to use."""
    from objectives.device import DeviceError, pin_process_to_device, resolve_device
    from sweeper.errors import SweeperError

    try:
        pinned = pin_process_to_device(device)
        resolve_device(pinned)
    except DeviceError as exc:
        problem = str(exc)
        if device.startswith("cuda"):  # pinned: torch now sees that GPU alone, or nothing
            problem = f"got {device!r}, but this machine has no such CUDA device."
        raise SweeperError(f"option '--device': {problem}") from None
    return pinned


def prepare_sweep(
    study: str, storage: str | None, tracking_uri: str | None, no_mlflow: bool, verbose: bool
):
    """What `run` and `worker` share before trials start: quiet libraries unless verbose, log
    format, the validated study, and the storage and tracking URLs with their defaults."""
    if not verbose:
        from sweeper.quiet import quiet_libraries

        quiet_libraries()
    from sweeper.storage import default_storage_url
    from sweeper.study import load_study
    from sweeper.tracking import default_tracking_uri

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    loaded = load_study(study, check_workload=True)
    storage_url = storage or default_storage_url()
    tracking = None if no_mlflow else (tracking_uri or default_tracking_uri())
    return loaded, storage_url, tracking


def refuse_over_budget(loaded: Any, n_trials: int, storage_url: str) -> None:
    """Exit with the quote when ``n_trials`` more trials (P50) exceed what remains of the study's
    budget (no-op without ``budget_eur``); ``--force`` skips this."""
    if loaded.spec.budget_eur is None or n_trials <= 0:
        return
    from sweeper.quote import quote_study, require_budget_fits

    quote = quote_study(loaded, n_trials=n_trials, storage_url=storage_url)
    require_budget_fits(quote, loaded.path)


@app.command("run")
def run_command(
    study: str = StudyArg,
    trials: int | None = typer.Option(
        None, "--trials", "-n", min=1, help="Trials to add (default: the study's `trials`)."
    ),
    storage: str | None = StorageOpt,
    tracking_uri: str | None = TrackingOpt,
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
        help="Start even when the quote (P50) exceeds the remaining budget; "
        "the ledger still refuses each trial that does not fit.",
    ),
    device: str = DeviceOpt,
    update_budget: bool = UpdateBudgetOpt,
) -> None:
    """Run (or resume) a study: each trial trains a LoRA, evaluates it with lm-eval, prices it,
    logs it."""
    device = pin_device(device)
    loaded, storage_url, tracking = prepare_sweep(study, storage, tracking_uri, no_mlflow, verbose)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sweeper.runner import run_sweep

    n_trials = trials or loaded.spec.trials
    if not force:
        refuse_over_budget(loaded, n_trials, storage_url)
    lead = loaded.objective_names[0]
    best: dict[str, float] = {}

    console.print(
        f"[bold]study[/] {escape(loaded.name)} ({escape(str(loaded.path))}) "
        f"-> storage {escape(redact_url(storage_url))}"
    )
    with Progress(
        TextColumn("[bold]trial"),
        MofNCompleteColumn(),
        BarColumn(),
        TextColumn("{task.fields[best]}"),
        TextColumn("spent €{task.fields[spent]:.4f}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("trials", total=n_trials, best=f"best {lead}: -", spent=0.0)

        def on_status(msg: str) -> None:
            progress.console.print(f"[dim]{escape(msg)}[/]")

        def on_trial(report, st) -> None:
            if report.state == "COMPLETE" and lead in report.values:
                value = report.values[lead]
                better = max if loaded.directions[0] == "maximize" else min
                best[lead] = better(best.get(lead, value), value)
            progress.console.print(trial_line(report), soft_wrap=True)
            progress.update(
                task,
                advance=1,
                spent=report.spent_eur_total,
                best=f"best {lead}: {_fmt(best[lead]) if lead in best else '-'}",
            )

        summary = run_sweep(
            loaded,
            n_trials=n_trials,
            storage_url=storage_url,
            tracking_uri=tracking,
            artifact_root=Path.cwd() / "mlartifacts",
            baseline=not no_baseline,
            on_trial=on_trial,
            on_status=on_status,
            device=device,
            update_budget=update_budget,
        )
    states = ", ".join(f"{v} {k.lower()}" for k, v in sorted(summary.states.items()))
    console.print(
        f"done: {summary.trials_run} trial(s) this run; study has {states}; "
        f"spent €{summary.spent_eur_total:.4f} in all"
    )
    console.print(f"Pareto-optimal trials: {summary.best_trials}")
    if summary.mlflow_view is not None:
        for line in summary.mlflow_view.lines():
            console.print(line, soft_wrap=True, markup=False)
    elif tracking:
        console.print(
            f"MLflow: mlflow ui --backend-store-uri {redact_url(tracking)}  "
            f"(experiment '{loaded.name}')"
        )
    console.print(
        f"show: sweeper show {loaded.path}"
        + (f" --storage {redact_url(storage)}" if storage else ""),
        markup=False,
    )
    exit_if_every_trial_failed(summary)


def trial_line(report: Any) -> Text:
    """One finished trial as the progress display prints it: plain text, so that a fail reason
    such as Llama's ``[/INST]`` is shown as it is, not read as rich markup."""
    values = "  ".join(f"{k}={_fmt(v)}" for k, v in report.values.items())
    line = (
        f"trial {report.number:>3} {report.state:<8} {values}  "
        f"cost_eur_trial=€{report.cost_eur_trial:.4f}"
    )
    if report.fail_reason:
        line += f"  reason: {report.fail_reason}"
    return Text(line)


def exit_if_every_trial_failed(summary: Any) -> None:
    """Exit with ``ALL_TRIALS_FAILED`` when this invocation ran trials and none of them completed
    or was pruned: a pipeline must not read a sweep that only failed as a success."""
    if summary.reports and all(r.state == "FAIL" for r in summary.reports):
        err_console.print(
            f"every trial of this run failed ({len(summary.reports)}); "
            f"exit code {exit_codes.ALL_TRIALS_FAILED}",
            markup=False,
        )
        raise typer.Exit(exit_codes.ALL_TRIALS_FAILED)


@app.command("show")
def show_command(
    study: str = StudyArg,
    storage: str | None = StorageOpt,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print the study's trials and its current Pareto-optimal set."""
    from sweeper.storage import default_storage_url
    from sweeper.study import load_study
    from sweeper.summary import summarize

    loaded = load_study(study)
    data = summarize(loaded, storage or default_storage_url())
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=float))
        return
    _print_summary(data)


@app.command("quote")
def quote_command(
    study: str = StudyArg,
    trials: int | None = typer.Option(
        None, "--trials", "-n", min=1, help="Trials to quote (default: the study's)."
    ),
    storage: str | None = StorageOpt,
    samples: int = typer.Option(
        200, "--samples", min=1, help="Configurations sampled from the search space."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Estimate, without training anything, the € per trial and for the whole study."""
    from sweeper.quote import quote_study
    from sweeper.storage import default_storage_url
    from sweeper.study import load_study

    loaded = load_study(study, check_workload=True)
    q = quote_study(
        loaded,
        n_trials=trials or loaded.spec.trials,
        samples=samples,
        storage_url=storage or default_storage_url(),
    )
    if as_json:
        typer.echo(json.dumps(q.to_dict(), indent=2, default=float))
        return
    _print_quote(q)


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _metric_cell(metrics: dict, name: str) -> str:
    """A metric with its standard error when it has one (``0.9833 ± 0.0081``)."""
    if name not in metrics:
        return "-"
    stderr = metrics.get(f"{name}_stderr")
    if isinstance(stderr, float) and stderr == stderr:
        return f"{_fmt(metrics[name])} ± {stderr:.2g}"
    return _fmt(metrics[name])


def _print_summary(data: dict) -> None:
    console.print(
        f"[bold]{escape(data['study'])}[/]: objectives {escape(str(data['objectives']))}; "
        f"trials by state {data['states']}; "
        f"spent €{data['spent_eur_total']:.4f}"
    )
    budget = data.get("budget")
    if budget is not None:
        console.print(
            f"budget €{budget['budget_eur']:.4f}: spent €{budget['spent_eur']:.4f} (settled), "
            f"reserved €{budget['reserved_eur']:.4f} by {budget['entries_by_state']['reserved']} "
            f"running trial(s), remaining €{budget['remaining_eur']:.4f}"
        )
    if data.get("baseline"):
        console.print(
            "base model: " + "  ".join(f"{k}={_fmt(v)}" for k, v in data["baseline"].items()),
            markup=False,
        )
    header, rows = _trial_rows(data)
    table = _trials_table(header, rows)
    unbounded = console.options.update_width(UNBOUNDED_WIDTH)
    if Measurement.get(console, unbounded, table).maximum <= console.width:
        console.print(table)
    else:  # a narrow terminal: one record per trial, every name and value whole
        console.print(_trials_records(header, rows))
    for line in data.get("mlflow_view") or []:
        console.print(line, soft_wrap=True, markup=False)


def _trial_rows(data: dict) -> tuple[list[str], list[list[str]]]:
    """The trials as plain-text cells: number (``*`` = Pareto-optimal), state, each objective,
    the trial's own cost, its parameters and notes."""
    objectives = list(data["objectives"])
    header = ["#", "state", *objectives, f"{COST_EUR_TRIAL} (€)", "params"]
    rows = []
    for t in data["trials"]:
        mark = "*" if t["pareto"] else ""
        row = [f"{t['number']}{mark}", t["state"]]
        row += [_metric_cell(t["metrics"], n) for n in objectives]
        row += [
            f"{t['metrics'].get(COST_EUR_TRIAL, 0.0):.4f}",
            ", ".join(f"{k}={_fmt(v)}" for k, v in t["params"].items()),
        ]
        notes = []
        if t.get("feasible") is False:
            notes.append("infeasible")
        if t.get("cache_hits"):
            notes.append("cached: " + ",".join(t["cache_hits"]))
        if t.get("serving_instance"):
            notes.append(f"served on {t['serving_instance']}")
        if t.get("fail_reason"):
            notes.append(t["fail_reason"])
        if notes:
            row[-1] += " | " + "; ".join(notes)
        rows.append(row)
    return header, rows


def _trials_table(header: list[str], rows: list[list[str]]) -> Table:
    """One row a trial (cells are ``Text``: a reason such as ``[/INST]`` is not markup)."""
    table = Table(title="trials (* = Pareto-optimal)")
    for c in header:
        table.add_column(c)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _trials_records(header: list[str], rows: list[list[str]]) -> Table:
    """One block a trial: a name column that is never cut, and values that wrap."""
    grid = Table.grid(padding=(0, 1))
    grid.title = "trials (* = Pareto-optimal)"
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for i, row in enumerate(rows):
        if i:
            grid.add_row()
        grid.add_row(Text(row[0], style="bold"), Text(header[1]), Text(row[1]))
        for name, cell in zip(header[2:], row[2:], strict=True):
            grid.add_row("", Text(name), Text(cell))
    return grid


def _print_quote(q: Quote) -> None:
    console.print(
        f"[bold]quote for {q.study}[/]: {q.n_trials} trial(s) on {q.trial_hardware} "
        f"(€{q.trial_eur_per_hour:.4f}/h); {q.calibration}"
    )
    console.print(_model_line(q.model, q.target))
    if q.machine_probe:
        console.print(f"[yellow]{q.machine_probe}[/]")
    table = Table()
    for c in ["", "P10", "P50", "P90"]:
        table.add_column(c, justify="right")
    per_trial = q.per_trial
    in_study = per_trial.cost_eur_trial_in_study
    for s, label in [
        (per_trial.trial_seconds, "seconds per trial (trains, worst case)"),
        (per_trial.cost_eur_trial, "€ per trial (trains, worst case)"),
        (in_study, f"€ per trial in this study (mean {_fmt(in_study.mean)})"),
        (per_trial.cost_eur_train_projected, "€ full-scale training (projected)"),
        (per_trial.gpu_hours_train_projected, "GPU-hours full-scale (projected)"),
    ]:
        table.add_row(label, *(_fmt(v) for v in (s.p10, s.p50, s.p90)))
    console.print(table)
    total = q.study_total
    console.print(
        f"whole sweep ({q.n_trials} trials): €{total.cost_eur_p50:.4f} (P50), "
        f"€{total.cost_eur_p90:.4f} (P90); {total.hours_p50:.2f} h (P50) "
        f"on {q.trial_hardware}"
    )
    console.print(_simulation_line(q, q.simulation))
    budget = q.budget
    if budget is not None:
        verdict = (
            "fits"
            if budget.fits
            else f"does not fit: over by €{budget.over_by_eur:.4f} (sweeper run refuses "
            f"without --force)"
        )
        console.print(
            f"budget €{budget.budget_eur:.4f}: spent €{budget.spent_eur:.4f}, reserved "
            f"€{budget.reserved_eur:.4f}, remaining €{budget.remaining_eur:.4f}; "
            f"the P50 quote {verdict}"
        )
    console.print(f"[dim]{q.assumptions}[/]")


def _model_line(m: ModelSummary, target: TargetSummary) -> str:
    """The trial model's shape and the full-scale model the projection prices, in one line."""
    full = {"own": "the same model", "params": f"{target.params / 1e9:.3g}B parameters"}
    return (
        f"model {m.path}: {m.params / 1e9:.3g}B parameters ({m.layers} layers, hidden "
        f"{m.hidden}, {m.heads} heads / {m.kv_heads} KV heads of {m.head_dim}, MLP "
        f"{m.intermediate}, vocabulary {m.vocab}"
        + (", tied embeddings" if m.tied_embeddings else "")
        + f"; shape from {m.shape_source}); full-scale projection: "
        + full.get(target.model, f"{target.model} ({target.params / 1e9:.3g}B)")
    )


def _simulation_line(q: Quote, sim: SimulationSummary) -> str:
    """The cache and pruning assumptions behind the whole-sweep figures, in one line."""
    trained = sim.lora_configs_trained_in_storage
    distinct = sim.lora_configs_in_space
    space = (
        "a continuous dimension: each trial a new configuration"
        if distinct is None
        else f"{distinct} configuration(s) in the space"
    )
    parts = [
        f"{sim.lora_trainings_mean:.1f} LoRA training(s) expected ({space}"
        + (f", {trained} already trained" if trained else "")
        + ")"
    ]
    if sim.partners:
        done = sim.partners_trained_in_storage
        parts.append(
            f"partner LoRA ({', '.join(sim.partners)}) trained "
            f"{sim.partner_trainings_mean:.1f}x"
            + (f" (already trained: {', '.join(done)})" if done else "")
        )
    parts.append(f"{sim.recipe_cache_hits_mean:.1f} repeated recipe(s) (cached)")
    if sim.pruning is not None:
        parts.append(f"{sim.pruned_share_mean:.0%} pruned; {sim.pruning}")
    return f"[dim]simulated {q.study_total.studies_simulated} studies: " + "; ".join(parts) + "[/]"
