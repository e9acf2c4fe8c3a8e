"""A worker's side of the study's euro budget: every trial reserves before it starts, settles after.

``BudgetGuard.open`` connects a ``sweeper run`` worker to the study's ``BudgetLedger`` and
``guard.wrap(objective)`` returns the objective Optuna runs:

- before the objective: the trial's estimated cost is reserved under the key ``trial-<number>``.
  The estimate comes from the estimator the runner gives the guard (``sweeper.quote``'s
  ``reservation_estimates``: the P90 of the quote's per-trial cost over the search space, with the
  time model calibrated on the study's completed trials, or the physics estimate before any), so
  a trial of any configuration rarely costs more than it reserved;
- when the ledger refuses, the objective is not called: the trial ends PRUNED with user attribute
  ``fail_reason`` ``"budget exhausted: ..."`` and metrics ``{"cost_eur_trial": 0.0}``, and
  ``study.stop()`` ends this worker's loop. Trials running in other workers finish and settle;
- after the objective (returned, raised, or interrupted): the trial's measured ``cost_eur_trial``
  (user attribute ``metrics``) replaces the reservation; a trial that recorded no cost is charged
  its elapsed time at the trial hardware's EUR per hour.

- while the objective runs: once the time model is calibrated on the study's completed trials, a
  trial that has cost ``budget_overrun_factor`` (study file, default 2) times its reservation is
  stopped (``sweeper.budget._overrun``): it fails with reason ``"budget overrun: ..."`` and is
  charged what it spent.

Spend can therefore pass the budget only by the estimate errors of the trials in flight at the last
admission (``sweeper.budget._balance``), each at most ``budget_overrun_factor`` times its
reservation once calibrated.

Changing a stored budget takes ``--update-budget``; a worker whose file differs is refused. A worker
started before any budget was declared reads the ledger before each trial and is bound by a budget
declared later. The base-model evaluation is charged the same way
(``run_baseline``), under the key ``baseline@<worker>``.

Workers that die leave reservations open. At start and before each reservation a worker settles
the open reservations of trials Optuna has since finished (at their recorded cost), and charges
in full, at their estimates, reservations older than ``STALE_AFTER_P90_TRIALS`` P90 trial
durations plus the storage's heartbeat grace period (``BudgetLedger.settle_stale``).

The guard imports neither the quote nor the storage: the runner (the composition root) passes the
estimator and the grace period in, so this package stays below the study schema that reads it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import optuna

from sweeper.budget._amounts import to_micro_eur
from sweeper.budget._errors import (
    BudgetChangeError,
    BudgetError,
    BudgetNotSetError,
    ReservationStateError,
)
from sweeper.budget._estimates import Estimator, ReservationEstimates
from sweeper.budget._ledger import BudgetLedger
from sweeper.budget._overrun import SpendingLimit, elapsed_cost_eur, spending_limit
from sweeper.budget._records import LedgerSummary
from sweeper.metrics import BUDGET_EUR, BUDGET_REMAINING_EUR, COST_EUR_TRIAL
from sweeper.trial_record import (
    baseline_cost_eur,
    recorded_cost_eur,
    write_outcome,
)

if TYPE_CHECKING:  # typing only: the study schema imports this package (MAX_AMOUNT_EUR)
    from sweeper.study import LoadedStudy

log = logging.getLogger(__name__)

TRIAL_KEY_PREFIX = "trial-"
BASELINE_KEY_PREFIX = "baseline@"
#: The key under which a base-model evaluation that ran before the budget existed is booked.
PRIOR_BASELINE_KEY = "baseline@before-budget"
#: Re-quote the reservation after every completed trial up to this many, then only when the
#: completed trials have grown by this factor (benchmarks/bench_overhead.py: a quote per trial was
#: half of the sweeper's own time per trial).
REQUOTE_EVERY_UNTIL = 10
REQUOTE_GROWTH = 1.25
#: A reservation is presumed abandoned after this many P90 trial durations (plus grace period).
STALE_AFTER_P90_TRIALS = 3.0
BUDGET_EXHAUSTED = "budget exhausted"


def trial_key(number: int) -> str:
    return f"{TRIAL_KEY_PREFIX}{number}"


class BudgetGuard:
    """One worker's admissions against the study's ledger; inactive when the study has no budget."""

    def __init__(
        self,
        loaded: LoadedStudy,
        ledger: BudgetLedger | None,
        *,
        eur_per_hour: float,
        estimate: Estimator,
        stale_grace_s: float,
        on_balance: Callable[[int, LedgerSummary], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.ledger = ledger
        self.eur_per_hour = eur_per_hour
        self.stale_grace_s = stale_grace_s
        self._estimate = estimate
        self._on_balance = on_balance
        self._cached: tuple[int, ReservationEstimates] | None = None
        self._mine: set[str] = set()

    @classmethod
    def open(
        cls,
        loaded: LoadedStudy,
        study: optuna.Study,
        storage_url: str,
        *,
        eur_per_hour: float,
        estimate: Estimator,
        stale_grace_s: float,
        on_status: Callable[[str], None] = lambda _msg: None,
        tracker: Any = None,
        parent_run_id: str | None = None,
        update_budget: bool = False,
    ) -> BudgetGuard:
        """Set the ledger's budget from the study file, book spend it lacks, recover stale
        reservations, and say where the budget stands. ``estimate``: what a trial and the
        base-model evaluation reserve (the quote's); ``stale_grace_s``: the storage's heartbeat
        grace period, added to the age after which a reservation is presumed abandoned.

        A stored budget changes only with ``update_budget`` (``--update-budget``): a file whose
        ``budget_eur`` differs from it raises ``BudgetChangeError``, so a worker started with an
        older or another copy of the study file never rewrites the study's budget silently. A
        file without ``budget_eur`` keeps the stored budget, if any, in force. Without any budget
        yet, the guard still watches the ledger: a budget another worker declares later binds
        this worker from its next trial.
        """
        ledger = BudgetLedger(storage_url, loaded.name)
        declared = loaded.spec.budget_eur
        try:
            stored = ledger.summary().budget_eur
        except BudgetNotSetError:
            stored = None

        def log_balance(step: int, summary: LedgerSummary) -> None:
            if tracker is None or parent_run_id is None:
                return
            try:
                tracker.log(
                    parent_run_id,
                    metrics={
                        BUDGET_EUR: summary.budget_eur,
                        BUDGET_REMAINING_EUR: summary.remaining_eur,
                    },
                    step=step,
                )
            except Exception as exc:  # MLflow is never fatal
                log.warning("could not log the budget to MLflow: %s", exc)

        guard = cls(
            loaded,
            ledger,
            eur_per_hour=eur_per_hour,
            estimate=estimate,
            stale_grace_s=stale_grace_s,
            on_balance=log_balance,
        )
        if declared is None and stored is None:
            return guard  # inactive until a budget is declared (checked before each trial)
        if stored is None:
            ledger.set_budget(declared)
        elif declared is not None and _micro(declared) != _micro(stored):
            if not update_budget:
                raise BudgetChangeError(
                    f"{loaded.path}: field 'budget_eur' is {declared:g}, but study "
                    f"{loaded.name!r} already has the stored budget €{stored:g}; a stored budget "
                    f"changes only with --update-budget (give budget_eur {stored:g} or remove it "
                    f"to keep it)"
                )
            ledger.change_budget(declared)
            on_status(
                f"budget of study {loaded.name} changed from €{stored:.4f} to €{declared:.4f}"
            )
        elif declared is None:
            on_status(
                f"{loaded.path} declares no budget_eur; the study's stored budget €{stored:.4f} "
                f"stays in force (set budget_eur and --update-budget to change it)"
            )

        guard.book_unreserved_spend(study)
        guard.recover(study)
        summary = ledger.summary()
        log_balance(len(study.get_trials(deepcopy=False)), summary)
        on_status(
            f"budget €{summary.budget_eur:.4f}: spent €{summary.spent_eur:.4f}, reserved by "
            f"running trials €{summary.reserved_eur:.4f}, remaining €{summary.remaining_eur:.4f}"
        )
        return guard

    @property
    def active(self) -> bool:
        """Whether the study has a budget now (read from the ledger: another worker may have
        declared one since this worker started)."""
        if self.ledger is None:
            return False
        try:
            self.ledger.summary()
        except BudgetNotSetError:
            return False
        return True

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()

    # -- estimates -------------------------------------------------------------------------------

    def estimates(self, study: optuna.Study) -> ReservationEstimates:
        """The quote's estimates, recomputed after each of the first ``REQUOTE_EVERY_UNTIL``
        completed trials, then each time the completed trials grew by ``REQUOTE_GROWTH`` (a quote
        takes about a second; a trial more barely moves a calibration on dozens)."""
        complete = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        if (
            self._cached is None
            or (complete < REQUOTE_EVERY_UNTIL and complete != self._cached[0])
            or complete >= REQUOTE_GROWTH * max(self._cached[0], 1)
        ):
            self._cached = (complete, self._estimate(self.loaded, study))
        return self._cached[1]

    # -- admissions ------------------------------------------------------------------------------

    def wrap(
        self, objective: Callable[[optuna.Trial], tuple[float, ...]]
    ) -> Callable[[optuna.Trial], tuple[float, ...]]:
        """``objective`` run only when the budget admits it, and its measured cost settled."""
        if self.ledger is None:
            return objective

        def budgeted_objective(trial: optuna.Trial) -> tuple[float, ...]:
            key = trial_key(trial.number)
            if not self.active:  # re-read before every trial: no budget declared yet
                return objective(trial)
            self.recover(trial.study)
            estimate = self.estimates(trial.study)
            if not self._reserve(key, estimate.trial_eur):
                self._refuse(trial, estimate)
            started = time.perf_counter()
            limit = SpendingLimit(
                trial.number,
                reserved_eur=estimate.trial_eur,
                factor=self.loaded.spec.budget_overrun_factor,
                eur_per_hour=self.eur_per_hour,
                started=started,
            )
            try:
                if not estimate.calibrated:
                    return objective(trial)
                with spending_limit(limit):  # the recipe stops a trial that overruns it
                    return objective(trial)
            finally:
                cost = recorded_cost_eur(trial.user_attrs)
                if cost is None:
                    cost = elapsed_cost_eur(started, self.eur_per_hour)
                # The balance reaches MLflow with the trial's spend (runner: balance_metrics).
                self._settle(key, cost, step=trial.number, report=False)

        return budgeted_objective

    def balance_metrics(self) -> dict[str, float]:
        """``budget_eur`` and ``budget_remaining_eur`` now, for the parent run; empty without a
        budget (or when the ledger cannot be read: never fatal)."""
        if self.ledger is None:
            return {}
        try:
            summary = self.ledger.summary()
        except BudgetNotSetError:
            return {}
        except BudgetError as exc:
            log.warning("could not read the budget ledger: %s", exc)
            return {}
        return {BUDGET_EUR: summary.budget_eur, BUDGET_REMAINING_EUR: summary.remaining_eur}

    def run_baseline(self, study: optuna.Study, evaluate: Callable[[], None]) -> bool:
        """Run the base-model evaluation if the budget admits it; ``False`` when refused."""
        if self.ledger is None or not self.active:
            evaluate()
            return True
        key = f"{BASELINE_KEY_PREFIX}{self.ledger.worker_id}"
        if not self._reserve(key, self.estimates(study).baseline_eur):
            return False
        started = time.perf_counter()
        try:
            evaluate()
        finally:
            cost = baseline_cost_eur(study.user_attrs)
            if cost is None:
                cost = elapsed_cost_eur(started, self.eur_per_hour)
            self._settle(key, cost, step=len(study.get_trials(deepcopy=False)))
        return True

    def _reserve(self, key: str, estimate_eur: float) -> bool:
        assert self.ledger is not None
        if self.ledger.reserve(key, max(estimate_eur, 1e-6)) is None:
            return False
        self._mine.add(key)
        return True

    def _refuse(self, trial: optuna.Trial, estimate: ReservationEstimates) -> None:
        assert self.ledger is not None
        summary = self.ledger.summary()
        reason = (
            f"{BUDGET_EXHAUSTED}: trial {trial.number} would reserve €{estimate.trial_eur:.4f} "
            f"(P90 estimate) but €{summary.remaining_eur:.4f} of the budget "
            f"€{summary.budget_eur:.4f} remains (spent €{summary.spent_eur:.4f}, reserved by "
            f"running trials €{summary.reserved_eur:.4f}); no new trial starts in this worker"
        )
        write_outcome(trial, metrics={COST_EUR_TRIAL: 0.0}, fail_reason=reason)
        trial.study.stop()
        if self._on_balance is not None:
            self._on_balance(trial.number, summary)
        raise optuna.TrialPruned(reason)

    def _settle(self, key: str, cost_eur: float, *, step: int, report: bool = True) -> None:
        """Never raises: a reservation left open is settled later by ``recover``."""
        assert self.ledger is not None
        try:
            self.ledger.settle(key, cost_eur)
            self._mine.discard(key)
            if report and self._on_balance is not None:
                self._on_balance(step, self.ledger.summary())
        except BudgetError as exc:
            log.warning("could not settle %s in the budget ledger (recovered later): %s", key, exc)

    # -- recovery --------------------------------------------------------------------------------

    def book_unreserved_spend(self, study: optuna.Study) -> None:
        """Book the recorded costs of finished trials (and of the base-model evaluation) that have
        no ledger entry: they ran before the study had a budget, or under a worker without one."""
        assert self.ledger is not None
        keys = {e.key for e in self.ledger.entries()}
        for t in study.get_trials(deepcopy=False):
            cost = recorded_cost_eur(t.user_attrs)
            if t.state.is_finished() and cost and trial_key(t.number) not in keys:
                self.ledger.record_spent(trial_key(t.number), cost)
        baseline_cost = baseline_cost_eur(study.user_attrs)
        if baseline_cost and not any(k.startswith(BASELINE_KEY_PREFIX) for k in keys):
            self.ledger.record_spent(PRIOR_BASELINE_KEY, baseline_cost)

    def recover(self, study: optuna.Study) -> None:
        """Settle other workers' reservations of trials Optuna has finished (at their recorded
        cost), then charge in full the reservations too old to belong to a live trial."""
        assert self.ledger is not None
        open_keys = [
            e.key
            for e in self.ledger.entries()
            if e.state == "reserved" and e.key not in self._mine
        ]
        numbers = {
            int(k.removeprefix(TRIAL_KEY_PREFIX)): k
            for k in open_keys
            if k.startswith(TRIAL_KEY_PREFIX) and k.removeprefix(TRIAL_KEY_PREFIX).isdigit()
        }
        if numbers:
            for t in study.get_trials(deepcopy=False):
                cost = recorded_cost_eur(t.user_attrs)
                if t.number in numbers and t.state.is_finished() and cost is not None:
                    try:
                        self.ledger.settle(numbers[t.number], cost)
                    except ReservationStateError:
                        pass  # its worker settled it meanwhile
        if open_keys:
            stale_after_s = (
                STALE_AFTER_P90_TRIALS * self.estimates(study).trial_seconds + self.stale_grace_s
            )
            self.ledger.settle_stale(stale_after_s)


def _micro(amount_eur: float) -> int:
    return to_micro_eur(amount_eur, name="budget_eur", allow_zero=True)
