"""The Optuna study storage: where trials live, so that a sweep resumes and workers share it."""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import Column, DateTime, MetaData, String, Table, create_engine, inspect, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import NullPool

from sweeper.errors import StorageError
from sweeper.redaction import redact_url, scrub
from sweeper.study import LoadedStudy

DEFAULT_STORAGE_DB = "sweeper.db"
#: Seconds between heartbeats of a running trial; a trial silent for GRACE_PERIOD_S is failed and
#: retried. Override per process with the environment variables below (e.g. for tests).
HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120
HEARTBEAT_INTERVAL_ENV = "SWEEPER_HEARTBEAT_INTERVAL_S"
GRACE_PERIOD_ENV = "SWEEPER_HEARTBEAT_GRACE_S"
#: Tries to open a storage whose tables another worker may be creating at the same moment.
SCHEMA_RACE_ATTEMPTS = 4
#: How often a trial whose worker died is re-queued (as a new trial) before it stays failed.
STALE_TRIAL_MAX_RETRY = 2
#: The trial states that count towards ``sweeper worker --total``: trials that ran to an end.
#: FAIL does not count: a trial whose worker died is failed and re-queued, and counting both would
#: end the study one trial short.
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
#: Connections one storage's pool keeps (a worker's main thread and its heartbeat thread) and may
#: open beyond that for a moment; a process holds at most this many per storage URL.
STORAGE_POOL_SIZE = 2
STORAGE_MAX_OVERFLOW = 1
#: Storages a process keeps open at once (one per URL); the least recently used is closed first.
MAX_OPEN_STORAGES = 4

_open_storages: OrderedDict[tuple[str, int, int], optuna.storages.RDBStorage] = OrderedDict()
_open_storages_lock = threading.Lock()


def default_storage_url(cwd: Path | None = None) -> str:
    return f"sqlite:///{((cwd or Path.cwd()) / DEFAULT_STORAGE_DB).resolve()}"


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """The process's RDB storage on ``url``, with heartbeats, so a killed worker's trial is failed
    and re-queued.

    On a database server, one storage (one engine, a pool of at most ``STORAGE_POOL_SIZE +
    STORAGE_MAX_OVERFLOW`` connections) per URL and process: calling this again, e.g. for each
    quote of a long-running worker, returns the same one, so a worker holds a constant number of
    connections. The pools are closed at exit (``close_storages``). A SQLite file gets a new
    storage each call.

    A running trial writes a heartbeat every ``SWEEPER_HEARTBEAT_INTERVAL_S`` seconds (default 30);
    one silent for ``SWEEPER_HEARTBEAT_GRACE_S`` (default 120) is failed by the next worker that
    starts a trial, and a copy of it (same parameters, system attr ``failed_trial``) is queued.
    """
    interval_s = _env_seconds(HEARTBEAT_INTERVAL_ENV, HEARTBEAT_INTERVAL_S)
    grace_s = _env_seconds(GRACE_PERIOD_ENV, max(GRACE_PERIOD_S, 2 * interval_s))
    if grace_s <= interval_s:
        raise StorageError(
            f"`{GRACE_PERIOD_ENV} > {HEARTBEAT_INTERVAL_ENV}` must hold, but got "
            f"grace={grace_s}, interval={interval_s}"
        )
    if url.startswith("sqlite"):
        # A file, no server to run out of connections; a cached engine would keep reading a
        # database file deleted and created again under the same name.
        return _new_storage(url, interval_s, grace_s)
    key = (url, interval_s, grace_s)
    with _open_storages_lock:
        storage = _open_storages.get(key)
        if storage is not None:
            _open_storages.move_to_end(key)
            return storage
        storage = _new_storage(url, interval_s, grace_s)
        _open_storages[key] = storage
        while len(_open_storages) > MAX_OPEN_STORAGES:
            # Still usable by whoever holds it: a disposed engine opens a fresh pool on demand.
            _open_storages.popitem(last=False)[1].engine.dispose()
        return storage


def close_storages() -> None:
    """Close the connections of every storage this process opened (registered to run at exit)."""
    with _open_storages_lock:
        while _open_storages:
            _open_storages.popitem()[1].engine.dispose()


def _forget_storages_in_child() -> None:
    # A forked child must not use its parent's connections; it opens its own on demand.
    for storage in _open_storages.values():
        storage.engine.dispose(close=False)
    _open_storages.clear()


atexit.register(close_storages)
os.register_at_fork(after_in_child=_forget_storages_in_child)


def _new_storage(url: str, interval_s: int, grace_s: int) -> optuna.storages.RDBStorage:
    for attempt in range(SCHEMA_RACE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=_pool_options(url),
                heartbeat_interval=interval_s,
                grace_period=grace_s,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=STALE_TRIAL_MAX_RETRY
                ),
            )
        except DatabaseError as exc:
            # Workers starting together on an empty database race to create Optuna's tables
            # (PostgreSQL: "duplicate key ... pg_type"); the loser finds them on the next try.
            if attempt + 1 == SCHEMA_RACE_ATTEMPTS:
                raise StorageError(
                    f"cannot open the study storage {redact_url(url)!r}: {_reason(exc, url)}"
                ) from None
            time.sleep(0.5 * (attempt + 1))
        except Exception as exc:
            raise StorageError(
                f"cannot open the study storage {redact_url(url)!r}: {_reason(exc, url)}"
            ) from None
    raise AssertionError("unreachable")


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
            f"study {loaded.name!r} in the storage has objectives {study.metric_names} "
            f"{stored}, but "
            f"{loaded.path} declares {loaded.objective_names} {loaded.directions}; "
            "rename the study (field `name`) or use another --storage"
        )
    if study.metric_names is None:
        study.set_metric_names(loaded.objective_names)
    return study


def storage_exists(storage_url: str) -> bool:
    """Whether the storage may be read without creating it: a missing SQLite file is not created
    just to look (a quote, a worker counting finished trials)."""
    prefix = "sqlite:///"
    return not storage_url.startswith(prefix) or Path(storage_url[len(prefix) :]).exists()


def load_existing_study(name: str, storage_url: str) -> optuna.Study:
    """The named study; ``StorageError`` when it does not exist (and a missing SQLite file is
    not created by looking)."""
    if not storage_exists(storage_url):
        raise StorageError(
            f"no study named {name!r}: the storage {redact_url(storage_url)} does not exist"
        )
    storage = open_storage(storage_url)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise StorageError(
            f"no study named {name!r} in {redact_url(storage_url)}; "
            f"studies there: {', '.join(names) or 'none'}"
        ) from None


def _pool_options(url: str) -> dict[str, object]:
    """A small pool for a database server; SQLite keeps SQLAlchemy's own (no server to exhaust,
    and its in-memory pool takes no ``max_overflow``)."""
    if url.startswith("sqlite"):
        return {}
    return {
        "pool_size": STORAGE_POOL_SIZE,
        "max_overflow": STORAGE_MAX_OVERFLOW,
        "pool_pre_ping": True,
    }


def _env_seconds(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise StorageError(f"{name} must be a whole number of seconds >= 1, but got {raw!r}")
    return value


class StopAtTotalTrials:
    """Optuna callback: stop this worker once the study holds ``total`` finished trials.

    Finished means COMPLETE or PRUNED (``FINISHED_STATES``). As a guard against a study whose every
    trial fails, a worker also stops once the study holds ``total`` failed trials. Workers check
    after each of their trials, so with W workers the study may end up to W-1 trials over
    ``total``: trials already running are never cut short.
    """

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError(f"`total >= 1` must hold, but got {total=}.")
        self.total = total
        self._finished = MaxTrialsCallback(total, states=FINISHED_STATES)
        self._failed = MaxTrialsCallback(total, states=(TrialState.FAIL,))

    def reached(self, study: optuna.Study) -> bool:
        """Whether the study is done already (checked before a worker starts its first trial)."""
        trials = study.get_trials(deepcopy=False, states=(*FINISHED_STATES, TrialState.FAIL))
        finished = sum(t.state in FINISHED_STATES for t in trials)
        return finished >= self.total or len(trials) - finished >= self.total

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._finished(study, trial)
        self._failed(study, trial)


# --- claims: a compare-and-set register in the study storage's database -----------------------

_claims_metadata = MetaData()
_claims = Table(
    "sweeper_claims",
    _claims_metadata,
    Column("key", String(512), primary_key=True),
    Column("value", String(512), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class Claims:
    """Keys that the first writer wins: who created a study's MLflow parent run, who writes a
    trial's missing MLflow run. Kept in a small table beside Optuna's, in the same database, so
    every worker that shares the study shares them.

    ``claim`` is one ``INSERT ... ON CONFLICT DO NOTHING`` (atomic on SQLite and PostgreSQL through
    the primary key), ``swap`` one ``UPDATE ... WHERE value = expected``.
    """

    def __init__(self, storage_url: str) -> None:
        self._where = redact_url(storage_url)
        try:
            connect_args = {"timeout": 60} if storage_url.startswith("sqlite") else {}
            self._engine = create_engine(storage_url, poolclass=NullPool, connect_args=connect_args)
            self._dialect = self._engine.dialect.name
            if self._dialect not in ("sqlite", "postgresql"):
                raise StorageError(
                    f"claims need SQLite or PostgreSQL, but the storage is {self._dialect!r}"
                )
            try:
                _claims_metadata.create_all(self._engine, checkfirst=True)
            except DatabaseError:
                # Another worker created the table between our check and our CREATE.
                if _claims.name not in inspect(self._engine).get_table_names():
                    raise
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(
                f"cannot open the claims table in {self._where!r}: {_reason(exc, storage_url)}"
            ) from None

    @staticmethod
    def supported(storage_url: str) -> bool:
        """Whether claims work on this storage (SQLite and PostgreSQL; not e.g. MySQL)."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(storage_url).get_backend_name() in ("sqlite", "postgresql")
        except Exception:
            return False

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Claims:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(self, key: str) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(select(_claims.c.value).where(_claims.c.key == key)).scalar()

    def claim(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless the key holds one; return what it holds now
        (``value`` itself when this call won)."""
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        statement = (
            insert(_claims)
            .values(key=key, value=value, updated_at=datetime.now(timezone.utc))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        with self._engine.begin() as conn:
            conn.execute(statement)
        held = self.get(key)
        assert held is not None, f"claim {key!r} vanished"
        return held

    def swap(self, key: str, expected: str, value: str) -> bool:
        """Replace ``expected`` by ``value`` under ``key``; False if the key held anything else."""
        statement = (
            sql_update(_claims)
            .where(_claims.c.key == key, _claims.c.value == expected)
            .values(value=value, updated_at=datetime.now(timezone.utc))
        )
        with self._engine.begin() as conn:
            return conn.execute(statement).rowcount == 1


def _reason(exc: BaseException, url: str) -> str:
    """The driver's own message (not SQLAlchemy's wrapper with its help link), on one line and
    without the URL's secrets."""
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return scrub("; ".join(lines) or type(cause).__name__, url)
