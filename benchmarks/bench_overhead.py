"""Overhead per trial: what the sweeper's bookkeeping costs on a trivial objective.

    python -m benchmarks.bench_overhead [--smoke] [--trials N] [--profile]

Three loops over the same trials (the recipe study's search space, random sampler, SQLite study
storage, SQLite MLflow store, all in a temporary folder):

* bare Optuna: ``study.optimize`` with a constant-time objective;
* Optuna + optuna-integration's ``MLflowCallback`` (one MLflow run per trial: params, values);
* ``sweeper.runner.run_sweep`` with everything on -- ``RecipeObjective`` (projection, memory fit,
  serving price, constraints, MLflow child run with all params, metrics, tags and ``trial.json``),
  the budget ledger (reserve/settle per trial, re-quoted as trials complete), spend logging and
  Pareto tags per trial, the end-of-sweep summary -- with only the recipe's work
  (``run_recipe``: train, merge, quantize, evaluate) and the base-model evaluation replaced by
  constant results.

Reported: seconds per trial and the extra over bare Optuna; the ratio line is our extra per trial
over MLflowCallback's (goal: at most 0.5).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import yaml

from benchmarks._common import machine, parser, print_table

REPO = Path(__file__).resolve().parents[1]


def _study_file(folder: Path) -> Path:
    data = yaml.safe_load((REPO / "studies" / "recipe.yaml").read_text())
    data["name"] = "overhead"
    data["sampler"] = {"name": "random"}
    data["budget_eur"] = 1000.0  # the ledger is on: every trial reserves and settles
    path = folder / "overhead.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _scores(tasks: Any) -> dict[str, Any]:
    from objectives.evaluate import TaskScore

    keys = [t if isinstance(t, str) else t.key for t in tasks]  # evaluate() keys by EvalTask.key
    return {k: TaskScore(k, "acc", 0.7, 0.02, 40, {"acc": 0.7, "exact_match": 0.6}) for k in keys}


@contextmanager
def trivial_recipe_work() -> Any:
    """The runner's machinery with the recipe's steps (and the base-model evaluation) constant."""
    import objectives
    import sweeper.recipe._objective as objective_module
    from sweeper.recipe import RecipeResult, StepRecord

    def run_recipe(recipe: Any, cache: Any, *, trainer_callbacks: Any = None) -> RecipeResult:
        steps = [StepRecord("lora", "k" * 16, True, 0.0), StepRecord("eval", "e" * 16, False, 0.0)]
        return RecipeResult(scores=_scores(recipe.tasks), steps=steps, model_size_bytes=1)

    def evaluate_base_model(model_path: str, tasks: list[str], **_: Any) -> dict[str, Any]:
        return _scores(tasks)

    saved = objective_module.run_recipe, objectives.evaluate_base_model
    objective_module.run_recipe, objectives.evaluate_base_model = run_recipe, evaluate_base_model
    try:
        yield
    finally:
        objective_module.run_recipe, objectives.evaluate_base_model = saved


def _objective_for(loaded: Any) -> Any:
    from sweeper.search import suggest

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        params = suggest(trial, loaded.spec.search_space)
        return 0.7, 0.68, float(params["lora_r"]), 1000.0

    return objective


class _Clock:
    """Trial end times: the steady-state cost of a trial is the median gap between two."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def __call__(self, *_: Any) -> None:
        self.ends.append(time.perf_counter())

    def per_trial(self) -> float:
        import statistics

        gaps = [b - a for a, b in zip(self.ends, self.ends[1:], strict=False)]
        return statistics.median(gaps) if gaps else float("nan")


def bare(loaded: Any, folder: Path, n: int) -> tuple[float, float]:
    clock = _Clock()
    study = optuna.create_study(
        storage=f"sqlite:///{folder / 'bare.db'}",
        directions=loaded.directions,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    started = time.perf_counter()
    study.optimize(_objective_for(loaded), n_trials=n, callbacks=[clock])
    return time.perf_counter() - started, clock.per_trial()


def with_mlflow_callback(loaded: Any, folder: Path, n: int) -> tuple[float, float]:
    from optuna_integration.mlflow import MLflowCallback

    callback = MLflowCallback(
        tracking_uri=f"sqlite:///{folder / 'mlflow-callback.db'}",
        metric_name=list(loaded.objective_names),
    )
    study = optuna.create_study(
        storage=f"sqlite:///{folder / 'callback.db'}",
        directions=loaded.directions,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    clock = _Clock()
    started = time.perf_counter()
    study.optimize(_objective_for(loaded), n_trials=n, callbacks=[callback, clock])
    return time.perf_counter() - started, clock.per_trial()


def ours(loaded: Any, folder: Path, n: int) -> tuple[float, float]:
    from sweeper.runner import run_sweep

    clock = _Clock()
    started = time.perf_counter()
    with trivial_recipe_work():
        summary = run_sweep(
            loaded,
            n_trials=n,
            storage_url=f"sqlite:///{folder / 'ours.db'}",
            tracking_uri=f"sqlite:///{folder / 'mlflow-ours.db'}",
            artifact_root=folder / "artifacts",
            cache_dir=folder / "cache",
            on_trial=clock,
        )
    seconds = time.perf_counter() - started
    assert summary.states.get("COMPLETE", 0) + summary.states.get("PRUNED", 0) == n, summary
    return seconds, clock.per_trial()


#: (label, [(file suffix, function name)]): the parts of a trial the profile is summed over.
PARTS = (
    ("MLflow child run: create, params, trial.json", [("tracking.py", "start_trial")]),
    ("MLflow child run: metrics, tags, terminate", [("tracking.py", "end_trial")]),
    ("Pareto tags", [("runner.py", "update")]),
    (
        "budget ledger: reserve, settle, recover",
        [
            ("budget/_guard.py", "_reserve"),
            ("budget/_guard.py", "_settle"),
            ("budget/_guard.py", "recover"),
            ("budget/_guard.py", "balance_metrics"),
        ],
    ),
    ("re-quotes for the reservation", [("budget/_guard.py", "estimates")]),
    ("Optuna trial user attributes", [("_trial.py", "set_user_attr")]),
    (
        "projection, memory fit, serving price",
        [
            ("_objective.py", "projected_metrics"),
            ("_objective.py", "_project_serving"),
            ("costing.py", "training_memory_fit"),
        ],
    ),
    ("spend so far (all trials)", [("trial_record.py", "spent_eur")]),
    ("end of sweep: summary, review charts", [("runner.py", "_log_parent_summary")]),
)


def breakdown(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Cumulative seconds of each part in ``PARTS`` (a part's functions do not nest)."""
    table = stats.stats  # type: ignore[attr-defined]
    out = []
    for label, functions in PARTS:
        seconds = sum(
            ct
            for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in table.items()
            if any(file.endswith(f) and name == fn for f, fn in functions)
        )
        out.append((label, seconds))
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--profile", action="store_true", help="cProfile our sweeper's loop")
    args = p.parse_args(argv)
    n = 6 if args.smoke else args.trials
    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    from sweeper.study import load_study

    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        folder = Path(tmp)
        loaded = load_study(_study_file(folder))
        for warm in ("warm-bare", "warm-cb"):  # imports and first-use costs out of the timings
            (folder / warm).mkdir()
        bare(loaded, folder / "warm-bare", 2)
        with_mlflow_callback(loaded, folder / "warm-cb", 2)
        print(f"bench_overhead on {machine()}: {n} trials per loop")
        t_bare1 = bare(loaded, folder, n)
        t_cb = with_mlflow_callback(loaded, folder, n)
        if args.profile:
            prof = cProfile.Profile()
            t_ours = prof.runcall(ours, loaded, folder, n)
        else:
            t_ours = ours(loaded, folder, n)
        (folder / "again").mkdir()
        t_bare2 = bare(loaded, folder / "again", n)
    t_bare, per_bare = min(t_bare1, t_bare2, key=lambda run: run[1])
    (t_cb, per_cb), (t_ours, per_ours) = t_cb, t_ours
    extra_cb = per_cb - per_bare
    extra_ours = per_ours - per_bare
    rows = [
        ["bare Optuna (SQLite)", t_bare, 1000 * per_bare, 0.0],
        ["+ MLflowCallback", t_cb, 1000 * per_cb, 1000 * extra_cb],
        ["sweeper run_sweep, everything on", t_ours, 1000 * per_ours, 1000 * extra_ours],
    ]
    print_table(
        f"{n} trials on a trivial objective (ms/trial: median gap between trial ends; total s "
        "includes set-up, e.g. creating the MLflow database, and the end-of-sweep report)",
        ["loop", "total s", "ms/trial", "extra ms/trial vs bare"],
        rows,
    )
    if args.profile:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(30)
        print(out.getvalue())
        print_table(
            "where the sweeper's time goes (cProfile, cumulative ms per trial)",
            ["part", "ms/trial"],
            [[part, 1000 * seconds / n] for part, seconds in breakdown(stats)],
        )
    ratio = extra_ours / extra_cb if extra_cb > 0 else float("inf")
    print(
        f"ratio (our extra per trial / MLflowCallback's extra per trial): {ratio:.2f} "
        f"(goal <= 0.5; {'met' if ratio <= 0.5 else 'not met'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
