"""Export completed recipe trials of real sweeps into ``benchmarks/data/recipe_table.csv``.

    python -m benchmarks.record_recipe_table sqlite:////tmp/r/sweeper.db:recipe [URL:STUDY ...]

One row per completed trial: its recipe (parameters, fixed values of the study filled in), what it
scored, what it cost (``cost_eur_trial`` and its parts in seconds), whether it trained its LoRA and
the partner LoRA, and its projected euros. ``bench_search`` builds its surrogate from this table.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import optuna

from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    COST_EUR_TRIAL,
    EVAL_SECONDS,
    MERGE_SECONDS,
    QUANTIZE_SECONDS,
    TRAIN_SECONDS,
    WALL_SECONDS,
)

TABLE = Path(__file__).resolve().parent / "data" / "recipe_table.csv"
PARAMS = (
    "lora_r",
    "learning_rate",
    "merge_method",
    "merge_weight",
    "merge_density",
    "quantization",
    "target_instance",
    "target_pricing",
)
METRICS = (
    "quality",
    "retention",
    COST_EUR_TRIAL,
    WALL_SECONDS,
    TRAIN_SECONDS,
    EVAL_SECONDS,
    MERGE_SECONDS,
    QUANTIZE_SECONDS,
    COST_EUR_TRAIN_PROJECTED,
    COST_EUR_SERVING_MONTH,
)
COLUMNS = ("study", "trial", *PARAMS, *METRICS, "trained_lora", "trained_partner", "base_retention")


def rows(storage_url: str, study_name: str) -> list[dict[str, object]]:
    from sweeper.search import fixed_values
    from sweeper.study import load_study
    from sweeper.trial_record import ATTR_CACHE, ATTR_METRICS, STUDY_ATTR_BASELINE, STUDY_ATTR_FILE

    study = optuna.load_study(study_name=study_name, storage=storage_url)
    fixed = {}
    study_file = study.user_attrs.get(STUDY_ATTR_FILE)
    if study_file and Path(study_file).exists():
        fixed = fixed_values(load_study(study_file).spec.search_space)
    base = (study.user_attrs.get(STUDY_ATTR_BASELINE) or {}).get("metrics", {})
    out = []
    for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        m = t.user_attrs.get(ATTR_METRICS, {})
        cache = t.user_attrs.get(ATTR_CACHE) or {}
        params = {"merge_method": "none", **fixed, **t.params}
        out.append(
            {"study": study_name, "trial": t.number}
            | {p: params.get(p, "") for p in PARAMS}
            | {k: m.get(k, "") for k in METRICS}
            | {
                "trained_lora": int(not cache.get("lora", False)),
                "trained_partner": int(any(v is False for k, v in cache.items() if "." in k)),
                "base_retention": base.get("retention", ""),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    sources = (argv if argv is not None else sys.argv[1:]) or ["sqlite:////tmp/r/sweeper.db:recipe"]
    table = []
    for source in sources:
        url, name = source.rsplit(":", 1)
        table += rows(url, name)
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    with TABLE.open("w", newline="") as fh:
        fh.write(
            f"# Recorded {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
            f"benchmarks/record_recipe_table.py from {', '.join(sources)}: real trials on the\n"
            "# bundled SmolLM2-135M-Instruct, 2-core shared CPU (seconds include other jobs' load)."
            "\n"
        )
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    print(f"{len(table)} row(s) -> {TABLE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
