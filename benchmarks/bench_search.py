"""Search efficiency per euro: which sampler reaches a good Pareto front for the fewest euros.

    python -m benchmarks.bench_search [--smoke] [--seeds N] [--trials N]

On the recipe study's surrogate (``_surrogate.py``: recorded real trials, interpolated; projected
euros from the real cost model; trial euros replaying the work cache), each strategy runs
``--trials`` trials per seed. Hypervolume of the feasible front (quality and retention maximised,
projected training and serving euros minimised; normalised to the range of 2000 random
configurations, reference point 1.1) is tracked against the euros the trials spent. Reported:
euros to reach 95 % of the best hypervolume any run or the random sample found, as a ratio to
random search's median (median and IQR over seeds; a run that never gets there counts as
everything it spent, and the "reached" column says how many did).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna

from benchmarks._common import iqr, machine, median, parser, print_table
from benchmarks._surrogate import RecipeSurrogate, read_table
from sweeper.metrics import COST_EUR_SERVING_MONTH, COST_EUR_TRAIN_PROJECTED
from sweeper.upstream import compute_hypervolume

SIGNS = np.array([-1.0, -1.0, 1.0, 1.0])  # to minimisation
OBJECTIVES = ("quality", "retention", COST_EUR_TRAIN_PROJECTED, COST_EUR_SERVING_MONTH)
#: The cost-aware sampler sees the surrogate's trial euros through this much log-normal error
#: (calibrated quotes are within about +-25 %, see bench_estimate).
COST_PREDICTION_ERROR = 0.2


def strategies(
    surrogate: RecipeSurrogate,
) -> dict[str, Callable[[int], optuna.samplers.BaseSampler]]:
    from sweeper.samplers import CostAwareSampler

    def predicted_eur(study: optuna.Study, params: dict[str, Any]) -> float:
        full = _with_fixed(surrogate, params)
        trained, partner = _done(study)
        noise = _noise(full)
        return surrogate.trial_eur(full, trained, partner) * noise

    return {
        "random": lambda s: optuna.samplers.RandomSampler(seed=s),
        "optuna default (TPE)": lambda s: optuna.samplers.TPESampler(seed=s),
        "NSGA-II (pop 10)": lambda s: optuna.samplers.NSGAIISampler(seed=s, population_size=10),
        "TPE (sweeper: multivariate, group)": lambda s: optuna.samplers.TPESampler(
            seed=s, n_startup_trials=6, multivariate=True, group=True
        ),
        "GP": lambda s: optuna.samplers.GPSampler(seed=s, n_startup_trials=6),
        "cost_aware (ours)": lambda s: CostAwareSampler(predicted_eur, n_startup_trials=6, seed=s),
    }


def _with_fixed(surrogate: RecipeSurrogate, params: dict[str, Any]) -> dict[str, Any]:
    from sweeper.search import fixed_values

    full = {"merge_method": "none", **fixed_values(surrogate.loaded.spec.search_space), **params}
    return full


def _done(study: optuna.Study) -> tuple[set, bool]:
    trained, partner = set(), False
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        trained.add((t.user_attrs["lora_r"], t.user_attrs["learning_rate"]))
        partner |= t.user_attrs["merge_method"] != "none"
    return trained, partner


def _noise(params: dict[str, Any]) -> float:
    digest = hashlib.sha256(repr(sorted(params.items())).encode()).digest()
    z = np.random.default_rng(int.from_bytes(digest[:8], "little")).standard_normal()
    return float(math.exp(COST_PREDICTION_ERROR * z))


def run_one(
    surrogate: RecipeSurrogate, sampler: optuna.samplers.BaseSampler, n_trials: int
) -> list[tuple[float, np.ndarray | None]]:
    """(EUR of the trial, normalised-free objective vector or None when infeasible) per trial."""
    from sweeper.search import suggest

    space = surrogate.loaded.spec.search_space
    study = optuna.create_study(
        directions=["maximize", "maximize", "minimize", "minimize"], sampler=sampler
    )
    trail: list[tuple[float, np.ndarray | None]] = []
    trained: set = set()
    partner = [False]

    def objective(trial: optuna.Trial) -> tuple[float, ...]:
        params = _with_fixed(surrogate, suggest(trial, space))
        eur = surrogate.trial_eur(params, trained, partner[0])
        trained.add((params["lora_r"], params["learning_rate"]))
        partner[0] |= params["merge_method"] != "none"
        for k in ("lora_r", "learning_rate", "merge_method"):
            trial.set_user_attr(k, params[k])
        values = surrogate.scores(params)
        vec = np.array([values[k] for k in OBJECTIVES]) * SIGNS
        trail.append((eur, vec if surrogate.feasible(values) else None))
        return tuple(values[k] for k in OBJECTIVES)

    study.optimize(objective, n_trials=n_trials)
    return trail


def random_sample(surrogate: RecipeSurrogate, n: int) -> np.ndarray:
    trail = run_one(surrogate, optuna.samplers.RandomSampler(seed=12345), n)
    return np.array([v for _, v in trail if v is not None])


def hypervolume_curve(trail, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.full(len(lo), 1.1)
    spent, hv, points = 0.0, [], []
    eur = []
    for cost, vec in trail:
        spent += cost
        if vec is not None:
            points.append(np.minimum((vec - lo) / (hi - lo), ref))
        hv.append(compute_hypervolume(np.array(points), ref) if points else 0.0)
        eur.append(spent)
    return np.array(eur), np.array(hv)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--trials", type=int, default=100)
    args = p.parse_args(argv)
    seeds, trials, dense = (args.seeds, args.trials, 2000)
    if args.smoke:
        seeds, trials, dense = 2, 8, 100
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    import warnings

    warnings.filterwarnings("ignore")
    rows = read_table()
    surrogate = RecipeSurrogate(rows)
    print(
        f"bench_search on {machine()}: surrogate of {len(rows)} recorded trial(s), "
        f"{seeds} seed(s) x {trials} trial(s) per strategy"
    )
    sample = random_sample(surrogate, dense)
    lo, hi = sample.min(axis=0), sample.max(axis=0)
    hi = np.where(hi > lo, hi, lo + 1.0)
    runs: dict[str, list] = {}
    seconds: dict[str, float] = {}
    chosen = strategies(surrogate)
    if args.smoke:  # seconds per GP trial: the full run only
        chosen.pop("GP")
        print("GP skipped in --smoke (seconds per trial)")
    for name, make in chosen.items():
        started = time.perf_counter()
        runs[name] = [run_one(surrogate, make(seed), trials) for seed in range(seeds)]
        seconds[name] = time.perf_counter() - started
    every = np.vstack(
        [sample] + [v[None, :] for rs in runs.values() for t in rs for _, v in t if v is not None]
    )
    norm = np.minimum((every - lo) / (hi - lo), 1.1)
    best_hv = compute_hypervolume(norm, np.full(4, 1.1))  # dominated points add nothing
    target = 0.95 * best_hv
    to_target: dict[str, list[float]] = {}
    reached: dict[str, int] = {}
    final: dict[str, list[float]] = {}
    for name, rs in runs.items():
        to_target[name], reached[name], final[name] = [], 0, []
        for trail in rs:
            eur, hv = hypervolume_curve(trail, lo, hi)
            hit = np.nonzero(hv >= target)[0]
            to_target[name].append(float(eur[hit[0]]) if len(hit) else float(eur[-1]))
            reached[name] += bool(len(hit))
            final[name].append(float(hv[-1] / best_hv))
    base = median(to_target["random"])
    table = []
    ratio_text = []
    for name in runs:
        ratios = [v / base for v in to_target[name]]
        q1, q3 = iqr(ratios)
        table.append(
            [
                name,
                median(to_target[name]),
                f"{reached[name]}/{seeds}",
                median(ratios),
                f"{q1:.2f}-{q3:.2f}",
                median(final[name]),
                round(seconds[name], 1),
            ]
        )
        ratio_text.append(f"{name} {median(ratios):.2f} [{q1:.2f}-{q3:.2f}]")
    print_table(
        f"EUR to reach 95% of the best known hypervolume ({best_hv:.4f}), {trials} trials",
        [
            "strategy",
            "EUR median",
            "reached",
            "ratio vs random",
            "ratio IQR",
            "final HV/best",
            "bench s",
        ],
        table,
    )
    ours = "cost_aware (ours)"
    optuna_samplers = [n for n in runs if n not in ("random", ours)]
    best = min(optuna_samplers, key=lambda n: median(to_target[n]))
    vs_best = [a / median(to_target[best]) for a in to_target[ours]]
    q1, q3 = iqr(vs_best)
    verdict = (
        "cheaper: qualifies as the default"
        if median(vs_best) < 1.0
        else "not cheaper: the default stays TPE"
    )
    print(
        f"cost_aware vs the best Optuna sampler ({best}): {median(vs_best):.2f} "
        f"[{q1:.2f}-{q3:.2f}] of its EUR to 95% HV -> {verdict}"
    )
    print("ratios (EUR to 95% HV vs random, median [IQR]): " + "; ".join(ratio_text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
