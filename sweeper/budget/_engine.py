"""One SQLAlchemy engine per ledger, set up so that a transaction really excludes other writers.

PostgreSQL: READ COMMITTED, and every ledger operation starts with ``SELECT ... FOR UPDATE`` on the
study's ledger row, so each statement after the lock sees what the previous holder committed.
SQLite: the ``sqlite3`` driver would start transactions lazily (and not at all for SELECT), which
lets two workers read the same balance. Driver-level transaction control is turned off and every
transaction begins with ``BEGIN IMMEDIATE``, which takes the database's write lock up front; others
wait for it (up to ``SQLITE_BUSY_TIMEOUT_S``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from sweeper.budget._errors import UnsupportedStorageError
from sweeper.redaction import redact_url, scrub

#: How long a SQLite writer waits for another one's lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT_S = 60.0
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


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
        return create_engine(url, isolation_level="READ COMMITTED", pool_pre_ping=True)
    except (ModuleNotFoundError, NoSuchModuleError) as exc:
        raise UnsupportedStorageError(
            f"cannot load the PostgreSQL driver for {where!r} "
            f"({scrub(str(exc), url.render_as_string(hide_password=False))}); install "
            "psycopg2-binary and write the URL as 'postgresql+psycopg2://...'."
        ) from None
