"""Scale: a study of 10,000 recorded trials, and 3 workers on PostgreSQL against 1.

    python -m benchmarks.bench_scale [--smoke] [--trials N]

* Pareto: ``study.best_trials`` on a study of ``--trials`` synthetic recipe trials
  (``optuna.trial.create_trial`` + ``study.add_trials``; four objectives as in
  ``studies/recipe.yaml``, metrics in the user attributes as the runner records them), in memory
  (the computation) and loaded from SQLite with ``--sqlite-trials`` of them (adding a trial to
  SQLite takes ~60 ms of CPU here, so 10,000 would take 10 minutes to set up).
* MLflow tagging: the runner's Pareto tagging (``sweeper.runner.ParetoTagger``) on a real SQLite
  MLflow store: its first call in a process (every run's ``pareto`` and ``pareto_rank``: Optuna's
  front and the non-domination ranks of all trials; tags written for a sample of runs, the write
  of every run is that times the trials) and one steady-state call after a new trial (the new
  trial against the current front, tags of the runs whose membership changed) -- the per-trial
  cost at that study size.
* Report: the review (ranks, front, hypervolume history, recommendations), its charts and the
  HTML report built in-process from the ``--trials`` study; and ``sweeper report`` as a user runs
  it (subprocess, imports included) on the SQLite study.
* Workers: trials per minute of 1 and of 3 worker processes on one PostgreSQL study
  (``tests/servers.postgres_server``), trivial objective, random sampler; skipped with the reason
  when PostgreSQL cannot start.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from benchmarks._common import machine, parser, print_table
from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    COST_EUR_TRIAL,
    WALL_SECONDS,
)

REPO = Path(__file__).resolve().parents[1]
OBJECTIVES = ("quality", "retention", COST_EUR_TRAIN_PROJECTED, COST_EUR_SERVING_MONTH)
DIRECTIONS = ["maximize", "maximize", "minimize", "minimize"]


def synthetic_trials(n: int, seed: int = 0) -> list[optuna.trial.FrozenTrial]:
    from optuna.distributions import CategoricalDistribution

    rng = np.random.default_rng(seed)
    space = {
        "lora_r": CategoricalDistribution([8, 16]),
        "learning_rate": CategoricalDistribution([1e-3, 3e-3]),
        "merge_method": CategoricalDistribution(["none", "linear", "ties"]),
        "quantization": CategoricalDistribution(["fp32", "int8", "int4"]),
    }
    out = []
    for i in range(n):
        params = {k: d.choices[rng.integers(len(d.choices))] for k, d in space.items()}
        quality = float(rng.beta(8, 2))
        retention = float(rng.uniform(0.6, 0.72))
        train = float(rng.uniform(0.5, 6.0))
        serving = float(rng.uniform(2000, 7000))
        values = [quality, retention, train, serving]
        metrics = dict(zip(OBJECTIVES, values, strict=True)) | {
            COST_EUR_TRIAL: float(rng.uniform(0.001, 0.01)),
            WALL_SECONDS: float(rng.uniform(40, 400)),
        }
        out.append(
            optuna.trial.create_trial(
                params=params,
                distributions=space,
                values=values,
                user_attrs={"metrics": metrics, "mlflow_run_id": None, "seq": i},
            )
        )
    return out


def make_study(url: str | None, n: int) -> tuple[optuna.Study, float]:
    study = optuna.create_study(study_name="recipe", storage=url, directions=DIRECTIONS)
    study.set_metric_names(list(OBJECTIVES))
    started = time.perf_counter()
    study.add_trials(synthetic_trials(n))
    return study, time.perf_counter() - started


def time_best_trials(url: str | optuna.Study) -> tuple[float, int]:
    study = (  # a fresh process's view of a stored study
        url
        if isinstance(url, optuna.Study)
        else optuna.load_study(study_name="recipe", storage=url)
    )
    started = time.perf_counter()
    front = study.best_trials
    return time.perf_counter() - started, len(front)


def time_tagging(study: optuna.Study, folder: Path) -> tuple[float, float]:
    """The runner's Pareto tagging: (first call without its writes, one steady-state call)."""
    from sweeper.runner import ParetoTagger
    from sweeper.tracking import Tracker
    from sweeper.trial_record import ATTR_MLFLOW_RUN

    tracker = Tracker(f"sqlite:///{folder / 'mlflow.db'}", "scale")
    tagger = ParetoTagger(_NoWrites())  # type: ignore[arg-type]
    started = time.perf_counter()
    tagger.update(study)  # Optuna's front and every trial's rank (writes: a run each)
    first = time.perf_counter() - started
    tagger.tracker = tracker
    new = synthetic_trials(1, seed=99)[0]
    new.user_attrs[ATTR_MLFLOW_RUN] = tracker.client.create_run(tracker.experiment_id).info.run_id
    study.add_trial(new)
    started = time.perf_counter()
    tagger.update(study)
    return first, time.perf_counter() - started


class _NoWrites:
    def log(self, *_: Any, **__: Any) -> None:
        pass


def time_review(study: optuna.Study, folder: Path) -> tuple[float | None, str]:
    """Review, charts and the HTML report of ``study``, in process."""
    try:
        import cost_models
        from sweeper.report import analyze_study, build_report
        from sweeper.report import chart_files as chart_artifacts
        from sweeper.study import load_study
    except ImportError as exc:
        return None, f"skipped: {exc}"
    started = time.perf_counter()
    analysis = analyze_study(study)
    chart_files = chart_artifacts(analysis, "scale")  # the PNGs and plotly page MLflow gets
    html = build_report(
        load_study(REPO / "studies" / "recipe.yaml"),
        analysis,
        cost_models.load_catalog(),
        cost_models.load_fx_rates(),
        None,
        None,
    )
    seconds = time.perf_counter() - started
    return seconds, (
        f"front {len(analysis.front)}, {len(chart_files)} chart artifacts, "
        f"{len(html) // 1024} KiB HTML"
    )


def time_report(url: str, folder: Path) -> tuple[float | None, str]:
    try:
        import sweeper.report  # noqa: F401
    except ImportError:
        return None, "sweeper.report does not exist: skipped"
    command = [
        str(Path(sys.executable).parent / "sweeper"),
        "report",
        str(REPO / "studies" / "recipe.yaml"),
        "--storage",
        url,
        "--no-mlflow",
        "--out",
        str(folder / "report.html"),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return None, f"failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
    return seconds, "subprocess, includes imports"


def _worker(url: str, n: int, seed: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(
        study_name="workers", storage=url, sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=n)


def trials_per_minute(url: str, workers: int, per_worker: int) -> float:
    optuna.delete_study(study_name="workers", storage=url) if _exists(url) else None
    optuna.create_study(study_name="workers", storage=url)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, per_worker, i)) for i in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    seconds = time.perf_counter() - started
    if any(p.exitcode for p in procs):
        raise RuntimeError(f"a worker failed: exit codes {[p.exitcode for p in procs]}")
    done = len(optuna.load_study(study_name="workers", storage=url).trials)
    return 60.0 * done / seconds


def _exists(url: str) -> bool:
    return any(s.study_name == "workers" for s in optuna.get_all_study_summaries(url))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--sqlite-trials", type=int, default=2_000)
    p.add_argument("--per-worker", type=int, default=200)
    args = p.parse_args(argv)
    n, n_sql, per_worker = (
        (300, 30, 5) if args.smoke else (args.trials, args.sqlite_trials, args.per_worker)
    )
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    print(f"bench_scale on {machine()}: {n} synthetic trials")
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        memory, _ = make_study(None, n)
        best_s, front = time_best_trials(memory)
        rows.append([f"study.best_trials, {n} trials in memory", best_s, f"front of {front}"])
        first_s, tag_s = time_tagging(memory, folder)
        rows.append([f"Pareto tags, first call, {n} trials", first_s, "front + all ranks"])
        rows.append([f"Pareto tagging per trial, {n} trials", tag_s, "runner, steady state"])
        review_s, note = time_review(memory, folder)
        rows.append([f"review + charts + HTML report, {n} trials", review_s or "-", note])
        url = f"sqlite:///{folder / 'scale.db'}"
        _, add_s = make_study(url, n_sql)
        rows.append([f"add_trials({n_sql}) into SQLite", add_s, "set-up"])
        best_s, front = time_best_trials(url)
        rows.append([f"study.best_trials, {n_sql} from SQLite", best_s, "load + Pareto"])
        report_s, note = (None, "skipped in --smoke") if args.smoke else time_report(url, folder)
        rows.append(
            [f"sweeper report, {n_sql} trials", report_s if report_s is not None else "-", note]
        )
    ratio_line = "ratio (3 workers / 1 worker, trials per minute): skipped"
    try:
        from tests.servers import ServerUnavailable, postgres_server
    except ImportError as exc:  # the test helpers are not installed with the package
        rows.append(["workers on PostgreSQL", "-", f"skipped: {exc}"])
    else:
        try:
            with postgres_server() as server:
                pg = server.url()
                one = trials_per_minute(pg, 1, per_worker)
                three = trials_per_minute(pg, 3, per_worker)
            rows.append(["1 worker on PostgreSQL (trials/min)", one, f"{per_worker} trials"])
            rows.append(["3 workers on PostgreSQL (trials/min)", three, f"3x{per_worker} trials"])
            ratio_line = f"ratio (3 workers / 1 worker, trials per minute): {three / one:.2f}"
        except (ServerUnavailable, OSError) as exc:
            rows.append(["workers on PostgreSQL", "-", f"skipped: {exc}"])
    print_table("scale", ["what", "seconds (or trials/min)", "note"], rows)
    print(ratio_line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
