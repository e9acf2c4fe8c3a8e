"""The quote of recipe studies: the work cache, merge partners, pruning and calibration.

Nothing is trained: studies are built in a temporary SQLite storage from hand-made trials that
carry the user attributes a real recipe trial records (``metrics``, ``cache``, ``intermediate``),
then quoted from that storage.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from sweeper.quote import PRUNED_SHARE_PRIOR, Quote, calibrated_time_model, quote_study
from sweeper.search import distributions
from sweeper.study import LoadedStudy, load_study
from tests.conftest import write_study

REPO = Path(__file__).resolve().parents[3]
COMPLETE = optuna.trial.TrialState.COMPLETE
PRUNED = optuna.trial.TrialState.PRUNED

#: A trial that trained for TRAIN_S seconds and evaluated for EVAL_S: training dominates, as on a
#: real study of the shipped size (quantize: 317 s training, 89 s evaluation on a 2-core CPU).
TRAIN_S, EVAL_S, OVERHEAD_S = 300.0, 20.0, 4.0

#: Search spaces pinned here (the shipped files may change): one fixed LoRA ...
ONE_LORA = {
    "lora_r": {"value": 16},
    "lora_alpha_ratio": {"value": 2},
    "learning_rate": {"value": 2.0e-3},
    "target_modules": {"value": "all_linear"},
    "epochs": {"value": 1},
}
QUANTIZE_SPACE = ONE_LORA | {"quantization": {"choices": ["fp32", "bf16", "fp16", "int8", "int4"]}}
MERGE_SPACE = ONE_LORA | {
    "merge_method": {"choices": ["linear", "ties"]},
    "merge_weight": {"low": 0.1, "high": 0.9},
    "merge_density": {"low": 0.3, "high": 1.0},
}
#: ... and a LoRA with a continuous learning rate: every trial trains a new configuration.
CONTINUOUS_SPACE = {
    "lora_r": {"value": 8},
    "lora_alpha_ratio": {"value": 2},
    "learning_rate": {"low": 2.0e-4, "high": 3.0e-3, "log": True},
    "target_modules": {"value": "attention"},
    "epochs": {"choices": [1, 2]},
}
RANDOM = {"name": "random"}
PRUNING = {"every_steps": 4, "limit": 8, "n_startup_trials": 2}


def _load(tmp_path: Path, name: str, **changes: Any) -> LoadedStudy:
    data = yaml.safe_load((REPO / "studies" / f"{name}.yaml").read_text())
    data.update(copy.deepcopy(changes))
    return load_study(write_study(tmp_path / f"{name}.yaml", data))


def _tokens(loaded: LoadedStudy, epochs: int = 1) -> float:
    t = loaded.spec.training
    return float(epochs * t.steps_per_epoch * t.batch_size * t.seq_len)


def _storage(tmp_path: Path, loaded: LoadedStudy, trials: list) -> str:
    url = f"sqlite:///{tmp_path / 'sweeper.db'}"
    study = optuna.create_study(
        study_name=loaded.name, storage=url, directions=list(loaded.directions)
    )
    for t in trials:
        study.add_trial(t)
    return url


def _trial(
    loaded: LoadedStudy,
    params: dict[str, Any],
    *,
    train: float = TRAIN_S,
    evaluate: float = EVAL_S,
    extra: float = OVERHEAD_S,
    cache: dict[str, bool] | None = None,
    state: optuna.trial.TrialState = COMPLETE,
    intermediate: dict[str, float] | None = None,
    epochs: int = 1,
) -> optuna.trial.FrozenTrial:
    """A finished trial as the recipe objective records it (``cache=None``: no work cache)."""
    dists = distributions(loaded.spec.search_space)
    params = {k: v for k, v in params.items() if k in dists}
    if state == COMPLETE:
        metrics = {
            "wall_seconds": train + evaluate + extra,
            "cost_eur_trial": (train + evaluate + extra) * 0.1 / 3600,
            "train_seconds": train,
            "eval_seconds": evaluate,
            "merge_seconds": 0.0,
            "quantize_seconds": 0.0,
            "tokens_trained": _tokens(loaded, epochs) * 0.8 if train > 0 else 0.0,
            "cost_eur_saved_by_cache": 0.0,
        }
    else:  # pruned: charged what it spent, no per-step breakdown
        metrics = {"wall_seconds": train, "cost_eur_trial": train * 0.1 / 3600}
    attrs: dict[str, Any] = {"metrics": metrics}
    if cache is not None:
        attrs["cache"] = cache
    if intermediate is not None:
        attrs["intermediate"] = intermediate
    return optuna.trial.create_trial(
        state=state,
        params=params,
        distributions={k: dists[k] for k in params},
        values=[0.5] * len(loaded.objective_names) if state == COMPLETE else None,
        user_attrs=attrs,
    )


def _study_seconds(q: Quote) -> float:
    """The simulated study's trial seconds (P50), without the base-model evaluation."""
    base = q.baseline_eval.seconds if q.study_total.includes_baseline_eval else 0.0
    return q.study_total.hours_p50 * 3600 - base


def test_one_lora_configuration_is_trained_once_so_the_study_costs_far_less_than_n_trials(
    tmp_path: Path,
) -> None:
    # The quantize study: one fixed LoRA, five quantization levels. Calibrated on a trial of a
    # runner without a work cache (no `cache` attribute): nothing is trained in storage yet.
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    url = _storage(tmp_path, loaded, [_trial(loaded, {"quantization": "fp16"})])
    n = 10
    q = quote_study(loaded, n_trials=n, storage_url=url)
    assert q.calibration.startswith("calibrated from 1 completed trial(s)")
    sim = q.simulation
    assert sim.lora_configs_in_space == 1
    assert sim.lora_trainings_mean == 1.0
    worst = q.per_trial.trial_seconds.p50
    assert worst > TRAIN_S  # a trial that trains pays the training
    # One training and n evaluations, not n trainings: far below n x the per-trial figure.
    assert _study_seconds(q) < 0.3 * n * worst
    # ... and at least the five levels' evaluations (grid sampler: each level once, then repeats
    # of an evaluated recipe cost only the overhead).
    assert _study_seconds(q) >= TRAIN_S + 5 * EVAL_S + n * OVERHEAD_S
    expected = q.per_trial.cost_eur_trial_in_study
    assert expected.p10 <= expected.p50 <= expected.p90
    assert expected.mean < 0.3 * q.per_trial.cost_eur_trial.p50


def test_a_lora_already_trained_in_storage_is_not_quoted_again(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    done = _trial(loaded, {"quantization": "fp16"}, cache={"eval": False, "lora": False})
    url = _storage(tmp_path, loaded, [done])
    q = quote_study(loaded, n_trials=4, storage_url=url)
    sim = q.simulation
    assert sim.lora_configs_trained_in_storage == 1
    assert sim.lora_trainings_mean == 0.0
    # No simulated trial trains: each costs an evaluation (or less), never the training.
    assert q.per_trial.trial_seconds_in_study.p90 < TRAIN_S / 5
    assert _study_seconds(q) < 4 * (EVAL_S + OVERHEAD_S + 10)
    # The worst case (what the budget reserves) still prices a trial that trains.
    assert q.per_trial.trial_seconds.p50 > TRAIN_S


def test_the_merge_partner_is_trained_once_per_study_and_not_when_stored(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path, "merge", search_space=MERGE_SPACE
    )  # fixed LoRA, every trial merges with the `date` LoRA
    params = {"merge_method": "linear", "merge_weight": 0.5}
    fresh = quote_study(
        loaded,
        n_trials=8,
        storage_url=_storage(tmp_path, loaded, [_trial(loaded, params)]),  # no work cache
    )
    assert fresh.simulation.partners == ("date",)
    assert fresh.simulation.partner_trainings_mean == 1.0
    assert fresh.simulation.lora_trainings_mean == 1.0
    cached = _trial(loaded, params, cache={"eval": False, "lora": False, "lora.date": False})
    (tmp_path / "sweeper.db").unlink()
    stored = quote_study(loaded, n_trials=8, storage_url=_storage(tmp_path, loaded, [cached]))
    assert stored.simulation.partners_trained_in_storage == ("date",)
    assert stored.simulation.partner_trainings_mean == 0.0
    assert stored.simulation.lora_trainings_mean == 0.0
    # The partner's training (as long as the LoRA's: same size) left both the total and the
    # worst case.
    assert _study_seconds(stored) < _study_seconds(fresh) - 1.5 * TRAIN_S
    assert stored.per_trial.trial_seconds.p50 < fresh.per_trial.trial_seconds.p50 - 0.5 * TRAIN_S


def test_calibration_ignores_cache_hit_trials(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    trials = [_trial(loaded, {"quantization": "fp16"}, cache={"eval": False, "lora": False})]
    # Three trials reused the LoRA (train_seconds 0), one reused the whole evaluation.
    for level in ("fp32", "int8", "int4"):
        trials.append(
            _trial(loaded, {"quantization": level}, train=0.0, cache={"eval": False, "lora": True})
        )
    trials.append(
        _trial(
            loaded,
            {"quantization": "fp16"},
            train=0.0,
            evaluate=0.0,
            extra=0.3,
            cache={"eval": True, "lora": True},
        )
    )
    url = _storage(tmp_path, loaded, trials)
    study = optuna.load_study(study_name=loaded.name, storage=url)
    model = calibrated_time_model(loaded, study)
    assert model is not None
    assert model.seconds_per_train_token == pytest.approx(TRAIN_S / _tokens(loaded))
    assert model.eval_seconds == pytest.approx(EVAL_S)
    assert model.overhead_seconds == pytest.approx(OVERHEAD_S)
    assert "1 cache-hit trial(s) left out" in model.source
    q = quote_study(loaded, n_trials=1, storage_url=url)
    assert q.per_trial.trial_seconds.p50 == pytest.approx(TRAIN_S + EVAL_S + OVERHEAD_S, rel=0.05)


def _demo_storage(tmp_path: Path, loaded: LoadedStudy, n: int = 3) -> str:
    trials = [
        _trial(
            loaded,
            {
                "learning_rate": 4e-4 * (i + 1),
                "epochs": 1,
            },
            cache={"eval": False, "lora": False},
        )
        for i in range(n)
    ]
    return _storage(tmp_path, loaded, trials)


def test_pruning_lowers_the_study_total(tmp_path: Path) -> None:
    plain = _load(tmp_path, "quantize", search_space=CONTINUOUS_SPACE, sampler=RANDOM)
    url = _demo_storage(tmp_path, plain)
    pruning = _load(
        tmp_path, "quantize", search_space=CONTINUOUS_SPACE, sampler=RANDOM, pruning=PRUNING
    )
    n = 20
    without = quote_study(plain, n_trials=n, storage_url=url)
    with_pruning = quote_study(pruning, n_trials=n, storage_url=url)
    assert without.simulation.pruned_share_mean == 0.0
    share = with_pruning.simulation.pruned_share_mean
    # The prior: p = 0.3 once two trials reported (the first two simulated trials cannot be
    # pruned; the stored trials never reported).
    assert 0.8 * PRUNED_SHARE_PRIOR * (n - 2) / n < share < 1.2 * PRUNED_SHARE_PRIOR
    assert "prior" in with_pruning.simulation.pruning
    assert with_pruning.study_total.cost_eur_p50 < 0.95 * without.study_total.cost_eur_p50
    # A trial that is not pruned pays its intermediate evaluations: the worst case rises.
    assert with_pruning.per_trial.trial_seconds.p50 > without.per_trial.trial_seconds.p50


def test_pruned_share_and_fraction_are_observed_on_the_study(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path, "quantize", search_space=CONTINUOUS_SPACE, sampler=RANDOM, pruning=PRUNING
    )
    base = {"epochs": 2}
    trials = []
    # Two startup trials, then four prunable ones, two of them pruned at step 4 of 30
    # (2 epochs of 15 steps).
    for i, state in enumerate([COMPLETE, COMPLETE, COMPLETE, PRUNED, COMPLETE, PRUNED]):
        reports = {"4": 0.5, "8": 0.6} if state == COMPLETE else {"4": 0.1}
        trials.append(
            _trial(
                loaded,
                base | {"learning_rate": 4e-4 * (i + 1)},
                state=state,
                intermediate=reports,
                cache={"eval": False, "lora": False} if state == COMPLETE else None,
                epochs=2,
            )
        )
    url = _storage(tmp_path, loaded, trials)
    q = quote_study(loaded, n_trials=40, storage_url=url)
    text = q.simulation.pruning
    assert "2 of 4 prunable trials" in text and "0.13 of its steps" in text
    assert 0.4 < q.simulation.pruned_share_mean < 0.6


def test_an_overrun_trial_widens_p90_and_says_so(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "quantize", search_space=QUANTIZE_SPACE)
    steady = [
        _trial(loaded, {"quantization": "fp16"}, train=TRAIN_S + i, cache=None) for i in range(4)
    ]
    url = _storage(tmp_path, loaded, steady)
    narrow = quote_study(loaded, n_trials=1, storage_url=url)
    (tmp_path / "sweeper.db").unlink()
    # The first trial of a fresh process: imports and warm-up, 3x the others.
    warm_up = _trial(loaded, {"quantization": "fp16"}, train=3 * TRAIN_S, extra=60.0)
    url = _storage(tmp_path, loaded, [warm_up, *steady])
    wide = quote_study(loaded, n_trials=1, storage_url=url)
    assert "measured/predicted seconds" in wide.calibration
    assert wide.per_trial.cost_eur_trial.p90 > 1.8 * narrow.per_trial.cost_eur_trial.p90
    for spread in wide.per_trial.to_dict().values():
        assert spread["p10"] <= spread["p50"] <= spread["p90"]
