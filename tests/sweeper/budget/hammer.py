"""A worker process for the concurrency proof: runs trials against one ledger until refused.

Started with multiprocessing's 'spawn', so it is a fresh interpreter, as on another machine.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class HammerPlan:
    storage_url: str
    study_name: str
    worker_index: int
    seed: int
    estimate_eur_low: float
    estimate_eur_high: float
    #: actual = estimate x uniform(low, high)
    actual_factor_low: float = 0.5
    actual_factor_high: float = 1.5
    #: Share of admitted trials that never start and are released instead of settled.
    release_share: float = 0.1
    #: Longest pretend run time between reserve and settle (seconds), so trials overlap.
    max_run_s: float = 0.003


def run_worker(plan: HammerPlan, start_together: object, out_dir: str) -> None:
    """Reserve, run, settle until the ledger refuses; write what happened to ``out_dir``."""
    _project_package_first()
    from sweeper.budget import BudgetLedger

    rng = random.Random(plan.seed)
    trials: list[dict[str, object]] = []
    refused: dict[str, object] | None = None
    worker_id = f"w{plan.worker_index}"
    with BudgetLedger(plan.storage_url, plan.study_name, worker_id=worker_id) as ledger:
        start_together.wait()  # type: ignore[attr-defined]
        for number in itertools.count():
            key = f"{worker_id}-{number}"
            estimate_eur = round(rng.uniform(plan.estimate_eur_low, plan.estimate_eur_high), 6)
            trial: dict[str, object] = {"key": key, "estimate_micro_eur": round(estimate_eur * 1e6)}
            if ledger.reserve(key, estimate_eur) is None:
                refused = trial
                break
            time.sleep(rng.uniform(0, plan.max_run_s))
            if rng.random() < plan.release_share:
                ledger.release(key)
                trial["actual_micro_eur"] = None
            else:
                factor = rng.uniform(plan.actual_factor_low, plan.actual_factor_high)
                actual_eur = round(estimate_eur * factor, 6)
                ledger.settle(key, actual_eur)
                trial["actual_micro_eur"] = round(actual_eur * 1e6)
            trials.append(trial)
    result = {"plan": asdict(plan), "trials": trials, "refused": refused}
    Path(out_dir, f"worker-{plan.worker_index}.json").write_text(json.dumps(result))


def _project_package_first() -> None:
    """A spawned interpreter inherits pytest's sys.path, which starts with tests/, where the test
    package tests/sweeper/ would shadow the project's `sweeper`; put the repository root first."""
    sys.path.insert(0, str(REPO))
