"""MLflow logging: one parent run per study, one nested child run per trial.

Uses ``MlflowClient`` directly (explicit run ids, one ``log_batch`` per step) rather than the
fluent API's global active-run state, so that logging is cheap and safe beside Optuna callbacks.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any

from sweeper.errors import TrackingError

#: Makes the MLflow UI open the experiment in its training-runs view (not the GenAI view).
EXPERIMENT_KIND_TAG = ("mlflow.experimentKind", "custom_model_development")
DEFAULT_TRACKING_DB = "mlflow.db"


def default_tracking_uri(cwd: Path | None = None) -> str:
    """A SQLite MLflow store in the working directory (MLflow 3's file store is deprecated)."""
    return f"sqlite:///{((cwd or Path.cwd()) / DEFAULT_TRACKING_DB).resolve()}"


def storage_id(storage_url: str) -> str:
    """A short stable id for a study storage, without credentials."""
    return hashlib.sha256(storage_url.encode()).hexdigest()[:12]


class Tracker:
    """Writes a study's runs to one MLflow experiment."""

    def __init__(
        self, tracking_uri: str, experiment_name: str, artifact_root: Path | None = None
    ) -> None:
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self._artifact_root = artifact_root
        self.experiment_id = self._ensure_experiment()

    def _ensure_experiment(self) -> str:
        try:
            exp = self.client.get_experiment_by_name(self.experiment_name)
            if exp is None:
                location = None
                if self._artifact_root is not None and self.tracking_uri.startswith("sqlite:"):
                    location = (self._artifact_root / self.experiment_name).resolve().as_uri()
                exp_id = self.client.create_experiment(
                    self.experiment_name, artifact_location=location
                )
            else:
                exp_id = exp.experiment_id
            self.client.set_experiment_tag(exp_id, *EXPERIMENT_KIND_TAG)
            return exp_id
        except Exception as exc:  # the store is unreachable or unusable
            raise TrackingError(
                f"MLflow tracking store {self.tracking_uri!r} is not usable: {exc}"
            ) from exc

    # --- parent run ----------------------------------------------------------------------------

    def parent_run(
        self, study_name: str, storage_key: str, params: dict[str, Any], tags: dict[str, str]
    ) -> str:
        """The study's parent run: found by its tags when resuming, created otherwise."""
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                "tags.`sweeper.role` = 'parent' and "
                f"tags.`sweeper.study_name` = '{study_name}' and tags.`sweeper.storage_id` = '{storage_key}'"
            ),
            max_results=1,
            order_by=["attributes.start_time ASC"],
        )
        if found:
            run_id = found[0].info.run_id
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        all_tags = {
            "sweeper.role": "parent",
            "sweeper.study_name": study_name,
            "sweeper.storage_id": storage_key,
        }
        all_tags.update(tags)
        run = self.client.create_run(self.experiment_id, run_name=study_name, tags=all_tags)
        self.log(run.info.run_id, params=params)
        return run.info.run_id

    # --- trial runs ----------------------------------------------------------------------------

    def start_trial(
        self, parent_run_id: str, trial_number: int, params: dict[str, Any], tags: dict[str, str]
    ) -> str:
        all_tags = {
            "mlflow.parentRunId": parent_run_id,
            "sweeper.role": "trial",
            "sweeper.trial_number": str(trial_number),
            "sweeper.state": "RUNNING",
        }
        all_tags.update(tags)
        run = self.client.create_run(
            self.experiment_id, run_name=f"trial-{trial_number:04d}", tags=all_tags
        )
        self.log(run.info.run_id, params=params)
        return run.info.run_id

    def end_trial(
        self, run_id: str, state: str, metrics: dict[str, float], tags: dict[str, str] | None = None
    ) -> None:
        """Log a finished trial; ``state`` is Optuna's (COMPLETE, PRUNED, FAIL)."""
        all_tags = {"sweeper.state": state}
        all_tags.update(tags or {})
        self.log(run_id, metrics=metrics, tags=all_tags)
        status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}.get(state, "FAILED")
        self.client.set_terminated(run_id, status=status)

    def end_parent(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    # --- low level -----------------------------------------------------------------------------

    def log(
        self,
        run_id: str,
        *,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
        step: int = 0,
    ) -> None:
        """One ``log_batch`` call; NaN and None metrics are skipped (MLflow rejects None)."""
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        self.client.log_batch(
            run_id,
            metrics=[
                Metric(k, float(v), now, step)
                for k, v in (metrics or {}).items()
                if v is not None and not (isinstance(v, float) and math.isnan(v))
            ],
            params=[Param(k, str(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
        )
