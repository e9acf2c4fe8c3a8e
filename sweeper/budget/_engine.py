"""One SQLAlchemy engine per ledger, set up so that a transaction really excludes other writers.

PostgreSQL: READ COMMITTED, and every ledger operation starts with ``SELECT ... FOR UPDATE`` on the
study's ledger row, so each statement after the lock sees what the previous holder committed.
SQLite: the ``sqlite3`` driver would start transactions lazily (and not at all for SELECT), which
lets two workers read the same balance. Driver-level transaction control is turned off and every
transaction begins with ``BEGIN IMMEDIATE``, which takes the database's write lock up front; others
wait for it (up to ``SQLITE_BUSY_TIMEOUT_S``).

On a database server, a process keeps one engine per storage URL (``ledger_engine``), whatever the
number of ledgers it opens, so a long-running worker holds a constant number of connections; they
close at exit.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from sweeper.budget._errors import UnsupportedStorageError
from sweeper.redaction import redact_url, scrub

#: How long a SQLite writer waits for another one's lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT_S = 60.0
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
#: Connections a ledger engine keeps to a PostgreSQL server, and may open beyond that for a
#: moment. Ledger operations run one at a time in a worker, so one is the steady state.
POSTGRESQL_POOL_SIZE = 1
POSTGRESQL_MAX_OVERFLOW = 2
#: Engines (storage URLs) a process keeps at once; the least recently used one is closed first.
MAX_OPEN_ENGINES = 4

_engines: OrderedDict[str, Engine] = OrderedDict()
_engines_lock = threading.Lock()


def ledger_engine(storage_url: str) -> Engine:
    """The process's ledger engine on ``storage_url`` (a database server), created on first use;
    a new engine for a SQLite file, which ``release_ledger_engine`` disposes."""
    if storage_url.startswith("sqlite"):
        # No server to run out of connections; a cached engine would keep writing to a database
        # file deleted and created again under the same name.
        return create_ledger_engine(storage_url)
    with _engines_lock:
        engine = _engines.get(storage_url)
        if engine is not None:
            _engines.move_to_end(storage_url)
            return engine
        engine = create_ledger_engine(storage_url)
        _engines[storage_url] = engine
        while len(_engines) > MAX_OPEN_ENGINES:
            # Still usable by a ledger that holds it: a disposed engine opens a new pool on demand.
            _engines.popitem(last=False)[1].dispose()
        return engine


def release_ledger_engine(engine: Engine) -> None:
    """Done with ``engine``: disposed unless it is the process's shared one for its URL."""
    with _engines_lock:
        shared = any(engine is e for e in _engines.values())
    if not shared:
        engine.dispose()


def close_ledger_engines() -> None:
    """Close every ledger connection this process holds (registered to run at exit)."""
    with _engines_lock:
        while _engines:
            _engines.popitem()[1].dispose()


def _forget_engines_in_child() -> None:
    # A forked child must not use its parent's connections; it opens its own on demand.
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


atexit.register(close_ledger_engines)
os.register_at_fork(after_in_child=_forget_engines_in_child)


def create_ledger_engine(storage_url: str) -> Engine:
    """An engine on ``storage_url`` (the Optuna storage URL) whose transactions lock the ledger."""
    where = redact_url(storage_url)
    url = _parse(storage_url, where)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, where)
    if backend == "postgresql":
        return _postgresql_engine(url, where)
    raise UnsupportedStorageError(
        f"the budget ledger needs a database it can lock across workers, one of "
        f"{', '.join(SUPPORTED_BACKENDS)}; but got {backend!r} in {where!r}."
    )


def _parse(storage_url: str, where: str) -> URL:
    try:
        return make_url(storage_url)
    except ArgumentError:
        raise UnsupportedStorageError(
            f"the storage URL must be an SQLAlchemy database URL such as 'sqlite:///sweeper.db' "
            f"or 'postgresql+psycopg2://user@host/db', but got {where!r}."
        ) from None


def _sqlite_engine(url: URL, where: str) -> Engine:
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        raise UnsupportedStorageError(
            f"the budget ledger is shared by worker processes, so an SQLite storage must be a "
            f"file, but got the in-memory database {where!r}."
        )
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgresql_engine(url: URL, where: str) -> Engine:
    try:
        return create_engine(
            url,
            isolation_level="READ COMMITTED",
            pool_pre_ping=True,
            pool_size=POSTGRESQL_POOL_SIZE,
            max_overflow=POSTGRESQL_MAX_OVERFLOW,
        )
    except (ModuleNotFoundError, NoSuchModuleError) as exc:
        raise UnsupportedStorageError(
            f"cannot load the PostgreSQL driver for {where!r} "
            f"({scrub(str(exc), url.render_as_string(hide_password=False))}); install "
            "psycopg2-binary and write the URL as 'postgresql+psycopg2://...'."
        ) from None
