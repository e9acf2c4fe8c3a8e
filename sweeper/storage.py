"""The Optuna study storage: where trials live, so that a sweep resumes and workers share it."""

from __future__ import annotations

from pathlib import Path

import optuna

from sweeper.errors import StorageError
from sweeper.study import LoadedStudy

DEFAULT_STORAGE_DB = "sweeper.db"
#: Seconds between heartbeats of a running trial; a trial silent for GRACE_PERIOD_S is failed and retried.
HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120


def default_storage_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{((cwd or Path.cwd()) / DEFAULT_STORAGE_DB).resolve()}"


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage with heartbeats, so a killed worker's trial is failed and re-queued."""
    try:
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=HEARTBEAT_INTERVAL_S,
            grace_period=GRACE_PERIOD_S,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=2
            ),
        )
    except Exception as exc:
        raise StorageError(f"cannot open the study storage {_redact(url)!r}: {exc}") from exc


def open_study(
    loaded: LoadedStudy,
    storage: optuna.storages.BaseStorage,
) -> optuna.Study:
    """Create the study, or load it when it exists (then its objectives must match the file)."""
    study = optuna.create_study(
        study_name=loaded.name,
        storage=storage,
        directions=loaded.directions,
        load_if_exists=True,
    )
    stored = [d.name.lower() for d in study.directions]
    if (
        stored != [d.lower() for d in loaded.directions]
        or (study.metric_names or loaded.objective_names) != loaded.objective_names
    ):
        raise StorageError(
            f"study {loaded.name!r} in the storage has objectives {study.metric_names} {stored}, but "
            f"{loaded.path} declares {loaded.objective_names} {loaded.directions}; "
            "rename the study (field `name`) or use another --storage"
        )
    if study.metric_names is None:
        study.set_metric_names(loaded.objective_names)
    return study


def load_existing_study(name: str, storage_url: str) -> optuna.Study:
    storage = open_storage(storage_url)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise StorageError(
            f"no study named {name!r} in {_redact(storage_url)}; studies there: {', '.join(names) or 'none'}"
        ) from None


def _redact(url: str) -> str:
    """Hide a password in a database URL."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
