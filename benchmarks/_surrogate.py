"""The recipe study as a cheap function: recorded trials in, (quality, retention, euros) out.

``benchmarks/data/recipe_table.csv`` holds real trials of recipe sweeps on the bundled model
(``record_recipe_table.py``). The study searched is ``studies/recipe.yaml``; for any of its
configurations the surrogate returns:

* ``quality``, ``retention``: an additive model fitted on the table by ridge least squares
  (lambda 1e-3) over one-hot features -- one per quantization level, merge method, LoRA rank and
  learning rate -- plus ``merge_weight`` and ``merge_density`` as linear terms for merging rows.
  A level the table never saw gets no effect (the mean of what was seen).
* ``cost_eur_train_projected``, ``cost_eur_serving_month``: not interpolated -- the study's own
  cost model prices the configuration exactly as a real trial does.
* the trial's euros: the table's median seconds of each part (training of one LoRA, evaluation,
  a merge, quantization by level, overhead) on the study's trial hardware (EUR 0.10/h), replaying
  the work cache -- a LoRA configuration is trained the first time a simulated study draws it,
  the date partner once by the first merging trial.
* feasibility: the study's constraint (retention at most 5 points under the base model's).
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from sweeper.metrics import (
    COST_EUR_SERVING_MONTH,
    COST_EUR_TRAIN_PROJECTED,
    EVAL_SECONDS,
    MERGE_SECONDS,
    QUANTIZE_SECONDS,
    TRAIN_SECONDS,
    WALL_SECONDS,
)

REPO = Path(__file__).resolve().parents[1]
TABLE = Path(__file__).resolve().parent / "data" / "recipe_table.csv"
STUDY_FILE = REPO / "studies" / "recipe.yaml"
CATEGORICAL = ("quantization", "merge_method", "lora_r", "learning_rate")


def read_table(path: Path = TABLE) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@dataclass
class RecipeSurrogate:
    rows: list[dict[str, str]]
    levels: dict[str, list[str]] = field(init=False)
    coef: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        from sweeper.study import load_study

        self.loaded = load_study(STUDY_FILE)
        self.levels = {c: sorted({r[c] for r in self.rows}) for c in CATEGORICAL}
        x = np.array([self._features(r) for r in self.rows])
        reg = 1e-3 * np.eye(x.shape[1])
        reg[0, 0] = 0.0
        self.coef = {
            name: np.linalg.solve(
                x.T @ x + reg, x.T @ np.array([float(r[name]) for r in self.rows])
            )
            for name in ("quality", "retention")
        }
        self.base_retention = float(self.rows[0]["base_retention"] or 0.68)
        trained = [r for r in self.rows if r["trained_lora"] == "1" and r["trained_partner"] == "0"]
        self.train_s = statistics.median(float(r[TRAIN_SECONDS]) for r in trained)
        self.eval_s = statistics.median(float(r[EVAL_SECONDS]) for r in self.rows)
        merging = [r for r in self.rows if r["merge_method"] != "none"]
        self.merge_s = statistics.median(float(r[MERGE_SECONDS]) for r in merging)
        self.quantize_s = {
            q: statistics.median(
                float(r[QUANTIZE_SECONDS]) for r in self.rows if r["quantization"] == q
            )
            for q in {r["quantization"] for r in self.rows}
        }
        self.overhead_s = statistics.median(
            max(
                float(r[WALL_SECONDS])
                - sum(float(r[k]) for k in (TRAIN_SECONDS, EVAL_SECONDS, MERGE_SECONDS))
                - float(r[QUANTIZE_SECONDS]),
                0.0,
            )
            for r in self.rows
        )
        self.eur_per_hour = float(self.loaded.spec.hardware.trial.eur_per_hour)
        self._projections: dict[tuple, dict[str, float]] = {}

    def _features(self, p: dict[str, Any]) -> list[float]:
        out = [1.0]
        for c in CATEGORICAL:
            out += [1.0 if _same(p.get(c), level) else 0.0 for level in self.levels[c][1:]]
        merging = str(p.get("merge_method", "none")) != "none"
        out.append(float(p.get("merge_weight") or 0.5) - 0.5 if merging else 0.0)
        out.append(float(p.get("merge_density") or 1.0) - 1.0 if merging else 0.0)
        return out

    def scores(self, params: dict[str, Any]) -> dict[str, float]:
        f = np.array(self._features(params))
        quality = float(np.clip(f @ self.coef["quality"], 0.0, 1.0))
        retention = float(np.clip(f @ self.coef["retention"], 0.0, 1.0))
        return {"quality": quality, "retention": retention} | self._projected(
            *(str(params.get(k)) for k in ("lora_r", "learning_rate", "merge_method")),
            *(str(params.get(k)) for k in ("quantization", "target_instance", "target_pricing")),
        )

    def feasible(self, values: dict[str, float]) -> bool:
        return values["retention"] >= self.base_retention - 0.05

    def _projected(self, *key: str) -> dict[str, float]:
        if key not in self._projections:
            self._projections[key] = self._price(*key)
        return self._projections[key]

    def _price(self, r, lr, method, quant, instance, pricing) -> dict[str, float]:  # noqa: ANN001
        from objectives import get_quant_method
        from sweeper.costing import project_serving
        from sweeper.quote import trial_recipe
        from sweeper.recipe import RecipeObjective

        ctx = _pricing()
        params = {
            "lora_r": int(r),
            "learning_rate": float(lr),
            "merge_method": method,
            "quantization": quant,
            "target_instance": instance,
            "target_pricing": pricing,
        }
        if method != "none":
            params |= {"merge_weight": 0.5, "merge_density": 1.0}
        settings = trial_recipe(self.loaded, params)
        objective = RecipeObjective.__new__(RecipeObjective)
        objective.loaded, objective.ctx = self.loaded, ctx
        train = objective.projected_metrics(settings)[1][COST_EUR_TRAIN_PROJECTED]
        serving = project_serving(self.loaded.spec, get_quant_method(quant).serving_dtype, ctx)
        return {
            COST_EUR_TRAIN_PROJECTED: float(train),
            COST_EUR_SERVING_MONTH: float(serving.metrics()[COST_EUR_SERVING_MONTH]),
        }

    def trial_eur(self, params: dict[str, Any], trained: set, partner_done: bool) -> float:
        """Euros of one trial given the LoRA configurations already trained in this study."""
        seconds = self.overhead_s + self.eval_s + self.quantize_s.get(params["quantization"], 2.0)
        lora = (params["lora_r"], params["learning_rate"])
        if lora not in trained:
            seconds += self.train_s
        if params["merge_method"] != "none":
            seconds += self.merge_s + (0.0 if partner_done else self.train_s)
        return seconds * self.eur_per_hour / 3600.0


@cache
def _pricing() -> Any:
    from sweeper.costing import PricingContext

    return PricingContext.load()


def _same(value: Any, level: str) -> bool:
    try:
        return float(value) == float(level)
    except (TypeError, ValueError):
        return str(value) == level
