"""MLflow logging: one parent run per study, one nested child run per trial.

Uses ``MlflowClient`` directly (explicit run ids, one ``log_batch`` per step) rather than the
fluent API's global active-run state, so that logging is cheap and safe beside Optuna callbacks.

An unreachable tracking server never stops a sweep: MLflow's HTTP retries are bounded for this
process (``bounded_http_retries``), and after a connection failure the tracker skips MLflow for
``SWEEPER_MLFLOW_RETRY_AFTER_S`` seconds instead of paying the retries on every call. What was not
logged stays in the Optuna storage and ``sweeper.sync`` writes it later.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sweeper.errors import TrackingError
from sweeper.redaction import redact_url, scrub
from sweeper.storage import Claims

#: Makes the MLflow UI open the experiment in its training-runs view (not the GenAI view).
EXPERIMENT_KIND_TAG = ("mlflow.experimentKind", "custom_model_development")
DEFAULT_TRACKING_DB = "mlflow.db"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
#: Each trial run's small JSON record (trial number, parameters, tags) in the run's artifacts.
TRIAL_ARTIFACT = "trial.json"
#: The parent run's copy of the study file.
STUDY_ARTIFACT_DIR = "study"
#: MLflow's own defaults retry a refused connection for minutes (7 retries, backoff factor 2,
#: 120 s timeout). A sweeper process uses these unless the user set the variables.
HTTP_RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}
#: MLflow prints "View run ... at: URL" after each run, with the tracking URI as given: a password
#: in it would be printed. The sweeper turns that off for such a URI (its own lines are redacted).
SUPPRESS_URL_PRINTING_ENV = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
RETRY_AFTER_ENV = "SWEEPER_MLFLOW_RETRY_AFTER_S"
RETRY_AFTER_S = 30.0
#: How long a sweep waits for a database-backed tracking store (a postgresql:// or mysql:// URI)
#: to accept a connection before it runs without MLflow; MLflow itself would retry ~100 s.
DB_CONNECT_TIMEOUT_S = 10


def default_tracking_uri(cwd: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` when set (MLflow's own variable), else a SQLite MLflow store in the
    working directory (MLflow 3's file store is deprecated)."""
    if os.environ.get(TRACKING_URI_ENV):
        return os.environ[TRACKING_URI_ENV]
    return f"sqlite:///{((cwd or Path.cwd()) / DEFAULT_TRACKING_DB).resolve()}"


def storage_id(storage_url: str) -> str:
    """A short stable id for a study storage: a hash of its redacted URL, so neither the id nor
    its hash carries a password (the same database under another password keeps its id)."""
    return hashlib.sha256(redact_url(storage_url).encode()).hexdigest()[:12]


def context_tags() -> dict[str, str]:
    """MLflow's standard run context (``mlflow.user``, ``mlflow.source.name``/``type``, git) as
    its UI shows it ("Created by", "Source"), with the git commit of the working directory: the
    user's project, not the installed sweeper's."""
    from mlflow.tracking.context.registry import resolve_tags
    from mlflow.utils.git_utils import get_git_branch, get_git_commit, get_git_repo_url

    tags = dict(resolve_tags())
    cwd = os.getcwd()
    commit = get_git_commit(cwd)
    if commit:
        tags["mlflow.source.git.commit"] = commit
        for key, value in (
            ("mlflow.source.git.branch", get_git_branch(cwd)),
            ("mlflow.source.git.repoURL", get_git_repo_url(cwd)),
        ):
            if value:
                tags[key] = value
    return tags


def dataset_input(path: Path, name: str, context: str) -> Any:
    """An MLflow dataset input of a JSONL file or a ``datasets.save_to_disk`` folder (digest of
    its rows, source = the file or folder)."""
    import warnings

    import pandas as pd
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import DatasetInput, InputTag

    if Path(path).is_dir():
        from datasets import load_from_disk

        frame = load_from_disk(str(path)).to_pandas()
    else:
        frame = pd.read_json(path, lines=True)
    with warnings.catch_warnings():  # MLflow's hints: two local sources match; integer columns
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(str(Path(path).resolve()))
        entity = from_pandas(frame, source=source, name=name)._to_mlflow_entity()
    return DatasetInput(entity, tags=[InputTag("mlflow.data.context", context)])


def bounded_http_retries() -> None:
    """Bound MLflow's HTTP retries for this process (a few seconds per call, not minutes), keeping
    any ``MLFLOW_HTTP_REQUEST_*`` variable the user set."""
    for name, value in HTTP_RETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)


class TrackingUnavailable(TrackingError):
    """The tracking server did not answer (or did not a moment ago); nothing was logged."""


def probe_database_store(tracking_uri: str) -> None:
    """Raise ``TrackingUnavailable`` when a database-backed tracking store (PostgreSQL, MySQL)
    accepts no connection within ``DB_CONNECT_TIMEOUT_S``: the same bounded wait as an HTTP
    server's, then the sweep runs without MLflow and ``sweeper sync`` catches up. Other URIs
    (http, a SQLite file) pass."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(tracking_uri)
        backend = url.get_backend_name()
    except Exception:
        return  # not a database URL
    if backend not in ("postgresql", "mysql"):
        return
    shown = redact_url(tracking_uri)  # the one redaction (``sweeper.redaction``)
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": DB_CONNECT_TIMEOUT_S}
    )
    try:
        with engine.connect():
            pass
    except (OperationalError, InterfaceError) as exc:
        reason = scrub(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0], tracking_uri)
        raise TrackingUnavailable(
            f"MLflow's database {shown} did not accept a connection within "
            f"{DB_CONNECT_TIMEOUT_S} s: {reason}"
        ) from None
    finally:
        engine.dispose()


def _is_unreachable(exc: BaseException) -> bool:
    """A connection problem (refused, reset, timed out) rather than a request MLflow rejected."""
    import requests
    import sqlalchemy.exc

    unreachable = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        # A database-backed store: server down, connection dropped, database gone or locked.
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        sqlalchemy.exc.DisconnectionError,
    )
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, unreachable):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return "API request to" in text and "failed with" in text


class Tracker:
    """Writes a study's runs to one MLflow experiment.

    ``missed`` turns true whenever a call failed: something may be missing in MLflow, and a
    ``sweeper.sync`` pass is due once the server answers again.
    """

    def __init__(
        self, tracking_uri: str, experiment_name: str, artifact_root: Path | None = None
    ) -> None:
        from mlflow.tracking import MlflowClient

        bounded_http_retries()
        if redact_url(tracking_uri) != tracking_uri:
            os.environ[SUPPRESS_URL_PRINTING_ENV] = "true"
        # libpq: a connection to a PostgreSQL store that does not answer gives up in bounded time
        os.environ.setdefault("PGCONNECT_TIMEOUT", str(DB_CONNECT_TIMEOUT_S))
        probe_database_store(tracking_uri)
        self.tracking_uri = tracking_uri
        #: The URI as printed: without its password (``sweeper.redaction``).
        self.where = redact_url(tracking_uri)
        self.experiment_name = experiment_name
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self._artifact_root = artifact_root
        self.missed = False
        self.storage_key: str | None = None
        self.study_name: str | None = None
        self._retry_after_s = float(os.environ.get(RETRY_AFTER_ENV) or RETRY_AFTER_S)
        self._down_until = 0.0
        self.context = context_tags()
        #: Dataset inputs every trial run gets (``log_study_inputs``).
        self.dataset_inputs: list[Any] = []
        self.experiment_id = self._ensure_experiment()

    def _scrub(self, exc: BaseException) -> str:
        return scrub(str(exc), self.tracking_uri)

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """Run MLflow calls; a connection failure pauses MLflow for ``RETRY_AFTER_S`` seconds."""
        if time.monotonic() < self._down_until:
            self.missed = True
            raise TrackingUnavailable(
                f"MLflow at {self.where} did not answer a moment ago; skipped"
            )
        try:
            yield
        except TrackingUnavailable:
            raise
        except Exception as exc:
            self.missed = True
            if _is_unreachable(exc):
                self._down_until = time.monotonic() + self._retry_after_s
                raise TrackingUnavailable(
                    f"MLflow at {self.where} is unreachable: {self._scrub(exc)}"
                ) from exc
            raise

    def _ensure_experiment(self) -> str:
        try:
            exp = self.client.get_experiment_by_name(self.experiment_name)
            if exp is None:
                location = None
                if self._artifact_root is not None and self.tracking_uri.startswith("sqlite:"):
                    location = (self._artifact_root / self.experiment_name).resolve().as_uri()
                try:
                    exp_id = self.client.create_experiment(
                        self.experiment_name, artifact_location=location
                    )
                except Exception:
                    # Another worker created it between our lookup and our create.
                    exp = self.client.get_experiment_by_name(self.experiment_name)
                    if exp is None:
                        raise
                    exp_id = exp.experiment_id
            else:
                exp_id = exp.experiment_id
            self._tag_experiment(exp_id)
            return exp_id
        except Exception as exc:  # the store is unreachable or unusable
            if _is_unreachable(exc):
                raise TrackingUnavailable(
                    f"MLflow at {self.where} is unreachable: {self._scrub(exc)}"
                ) from exc
            raise TrackingError(
                f"MLflow tracking store {self.where!r} is not usable: {self._scrub(exc)}"
            ) from None

    def _tag_experiment(self, exp_id: str) -> None:
        key, value = EXPERIMENT_KIND_TAG
        if self.client.get_experiment(exp_id).tags.get(key) == value:
            return
        try:
            self.client.set_experiment_tag(exp_id, key, value)
        except Exception:
            # Workers starting together: another one may have inserted the same tag first.
            if self.client.get_experiment(exp_id).tags.get(key) != value:
                raise

    # --- parent run ----------------------------------------------------------------------------

    def parent_run(
        self,
        study_name: str,
        storage_key: str,
        params: dict[str, Any],
        tags: dict[str, str],
        *,
        storage_url: str | None = None,
        reopen: bool = True,
    ) -> str:
        """The study's parent run: found when resuming, created otherwise; marked RUNNING again
        when ``reopen``.

        With ``storage_url``, the run id is claimed in the study storage (``Claims``), so that
        workers starting at the same instant agree on one parent: each one that created a run and
        lost the claim deletes its own run and uses the winner's.
        """
        self.study_name, self.storage_key = study_name, storage_key
        with self._reachable():
            if storage_url is None or not Claims.supported(storage_url):
                run_id = self._find_or_create_parent(study_name, storage_key, params, tags)[0]
            else:
                key = f"mlflow-parent:{self.tracking_key}:{study_name}"
                with Claims(storage_url) as claims:
                    recorded = claims.get(key)
                    if recorded is not None and self._run_is_active(recorded):
                        run_id = recorded
                    else:
                        run_id = self._claim_parent(claims, key, recorded, study_name, params, tags)
            if reopen:
                self.client.update_run(run_id, status="RUNNING")
            return run_id

    @property
    def tracking_key(self) -> str:
        """A short stable id for this tracking server (by its URI) and experiment."""
        where = redact_url(self.tracking_uri)
        return hashlib.sha256(f"{where}#{self.experiment_id}".encode()).hexdigest()[:12]

    def _claim_parent(self, claims, key, recorded, study_name, params, tags) -> str:
        candidate, created = self._find_or_create_parent(
            study_name, self.storage_key or "", params, tags
        )
        if recorded is None:
            winner = claims.claim(key, candidate)
        elif claims.swap(key, recorded, candidate):  # the recorded run was deleted in MLflow
            winner = candidate
        else:
            winner = claims.get(key) or candidate
        if winner != candidate and created:
            self.client.delete_run(candidate)
        return winner

    def _find_or_create_parent(
        self, study_name: str, storage_key: str, params: dict[str, Any], tags: dict[str, str]
    ) -> tuple[str, bool]:
        """(run id, created): the oldest active parent run with the study's tags, or a new one."""
        found = self._search_parent(study_name, storage_key)
        if found is not None:
            return found, False
        all_tags = self.context | {
            "sweeper.role": "parent",
            "sweeper.study_name": study_name,
            "sweeper.storage_id": storage_key,
        }
        all_tags.update(tags)
        run = self.client.create_run(self.experiment_id, run_name=study_name, tags=all_tags)
        self.log(run.info.run_id, params=params)
        return run.info.run_id, True

    def _search_parent(self, study_name: str, storage_key: str) -> str | None:
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                "tags.`sweeper.role` = 'parent' and "
                f"tags.`sweeper.study_name` = '{study_name}' and "
                f"tags.`sweeper.storage_id` = '{storage_key}'"
            ),
            max_results=1,
            order_by=["attributes.start_time ASC"],
        )
        return found[0].info.run_id if found else None

    def _run_is_active(self, run_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_run(run_id).info.lifecycle_stage == "active"
        except MlflowException as exc:
            if _is_unreachable(exc):
                raise
            return False  # not in this tracking store

    # --- trial runs ----------------------------------------------------------------------------

    def start_trial(
        self, parent_run_id: str, trial_number: int, params: dict[str, Any], tags: dict[str, str]
    ) -> str:
        """Create the trial's child run with its parameters, tags and ``trial.json`` artifact."""
        all_tags = self.context | {
            "mlflow.parentRunId": parent_run_id,
            "sweeper.role": "trial",
            "sweeper.trial_number": str(trial_number),
            "sweeper.state": "RUNNING",
        }
        if self.study_name is not None and self.storage_key is not None:
            all_tags["sweeper.study_name"] = self.study_name
            all_tags["sweeper.storage_id"] = self.storage_key
        all_tags.update(tags)
        with self._reachable():
            run = self.client.create_run(
                self.experiment_id, run_name=f"trial-{trial_number:04d}", tags=all_tags
            )
            run_id = run.info.run_id
            self.log(run_id, params=params)
            record = {
                "study": self.study_name,
                "trial_number": trial_number,
                "params": params,
                "tags": {k: v for k, v in all_tags.items() if not k.startswith("mlflow.")},
            }
            self.client.log_dict(run_id, _jsonable(record), TRIAL_ARTIFACT)
            if self.dataset_inputs:
                self.client.log_inputs(run_id, datasets=self.dataset_inputs)
            return run_id

    def trial_runs(self, parent_run_id: str) -> dict[int, list[Any]]:
        """The parent's active child runs by trial number (``mlflow.entities.Run`` objects)."""
        out: dict[int, list[Any]] = {}
        token = None
        with self._reachable():
            while True:
                page = self.client.search_runs(
                    [self.experiment_id],
                    filter_string=f"tags.`mlflow.parentRunId` = '{parent_run_id}'",
                    max_results=1000,
                    page_token=token,
                )
                for run in page:
                    number = run.data.tags.get("sweeper.trial_number")
                    if number is not None and number.isdigit():
                        out.setdefault(int(number), []).append(run)
                token = page.token
                if not token:
                    return out

    def delete_run(self, run_id: str) -> None:
        with self._reachable():
            self.client.delete_run(run_id)

    def end_trial(
        self, run_id: str, state: str, metrics: dict[str, float], tags: dict[str, str] | None = None
    ) -> None:
        """Log a finished trial; ``state`` is Optuna's (COMPLETE, PRUNED, FAIL)."""
        all_tags = {"sweeper.state": state}
        all_tags.update(tags or {})
        with self._reachable():
            self.log(run_id, metrics=metrics, tags=all_tags)
            status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}.get(state, "FAILED")
            self.client.set_terminated(run_id, status=status)

    def log_study_inputs(
        self, parent_run_id: str, study_file: Path, datasets: dict[str, tuple[Path, str]]
    ) -> None:
        """The study file as an artifact of the parent run, and ``datasets`` (name -> (JSONL
        file, context such as ``training`` or ``evaluation``)) as dataset inputs of the parent
        and of every trial run started after this call."""
        with self._reachable():
            self.dataset_inputs = [
                dataset_input(path, name, context) for name, (path, context) in datasets.items()
            ]
            self.client.log_artifact(parent_run_id, str(study_file), STUDY_ARTIFACT_DIR)
            self.client.log_inputs(parent_run_id, datasets=self.dataset_inputs)

    def end_parent(self, run_id: str, status: str = "FINISHED") -> None:
        with self._reachable():
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
        with self._reachable():
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


def _jsonable(value: Any) -> Any:
    """Plain JSON types for an artifact (numpy numbers and other objects become str or float)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
