"""The ledger's two tables, kept in the same database as the Optuna study (beside Optuna's own)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    inspect,
)
from sqlalchemy.exc import DatabaseError

metadata = MetaData()

#: One row per study: its budget, and the counter that orders every change to its ledger.
ledgers = Table(
    "sweeper_budget_ledger",
    metadata,
    Column("study_name", String(512), primary_key=True),
    Column("budget_micro_eur", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: One row per trial key: its reservation and, once closed, its measured cost.
entries = Table(
    "sweeper_budget_entries",
    metadata,
    Column("study_name", String(512), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("estimate_micro_eur", BigInteger, nullable=False),
    Column("actual_micro_eur", BigInteger, nullable=True),
    Column("worker_id", String(255), nullable=False),
    Column("reserved_seq", BigInteger, nullable=False),
    Column("closed_seq", BigInteger, nullable=True),
    Column("reserved_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("closed_by", String(16), nullable=True),
    Index("ix_sweeper_budget_entries_state", "study_name", "state"),
)


def create_tables(engine: Engine) -> None:
    """Create the tables if missing. Several workers may start at once: losing that race is fine."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except DatabaseError:
        # Another process created them between our check and our CREATE; anything else re-raises.
        existing = set(inspect(engine).get_table_names())
        if not {ledgers.name, entries.name} <= existing:
            raise
