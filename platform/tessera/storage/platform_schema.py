"""Tessera's own tables (tessera_*): created where missing and brought up to date on every start.

Checking every table's columns and indexes against the catalog is a few hundred catalog queries
(~0.3 s on PostgreSQL, more under load) — on every process start and every test. The database
keeps the fingerprint of the platform schema it was last brought up to (in tessera_setting); a
start whose code has the same fingerprint skips the check.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Computed, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from .engine import begin_write
from .platform_tables import RETIRED_INDEXES, platform_metadata, settings

FINGERPRINT_KEY = "platform_schema"


def ensure_platform_tables(engine) -> None:
    """Create Tessera's own tables (tessera_*) where missing, and bring an older database's up to
    date: columns and indexes added since are created (create_all leaves an existing table as it
    is), retired indexes dropped. Added columns are nullable or computed, so any table takes them."""
    with begin_write(engine) as conn:
        fingerprint = schema_fingerprint(conn.dialect.name)
        inspector = inspect(conn)
        if inspector.has_table(settings.name) and conn.execute(
                select(settings.c.value).where(settings.c.key == FINGERPRINT_KEY)).scalar() == fingerprint:
            return
        platform_metadata.create_all(conn)
        ops = Operations(MigrationContext.configure(conn))
        for table in platform_metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    ops.add_column(table.name, _addable(column, conn.dialect.name))
            retired = set(RETIRED_INDEXES.get(table.name, ()))
            if retired:
                for name in retired & {ix["name"] for ix in inspector.get_indexes(table.name)}:
                    ops.drop_index(name, table_name=table.name)
            for index in table.indexes:
                # checkfirst looks the index up in the catalog (no lock, unlike CREATE INDEX IF NOT
                # EXISTS) and honours ddl_if (an index meant for one dialect only)
                index.create(conn, checkfirst=True)
        _store_fingerprint(conn, fingerprint)


@lru_cache(maxsize=4)
def schema_fingerprint(dialect_name: str) -> str:
    """A hash of the platform tables' DDL for this dialect (and the retired indexes)."""
    dialect = (postgresql if dialect_name == "postgresql" else sqlite).dialect()
    digest = hashlib.sha256(repr(sorted(RETIRED_INDEXES.items())).encode())
    for table in platform_metadata.sorted_tables:
        digest.update(str(CreateTable(table).compile(dialect=dialect)).encode())
        for index in sorted(table.indexes, key=lambda ix: ix.name or ""):
            digest.update(str(CreateIndex(index).compile(dialect=dialect)).encode())
    return digest.hexdigest()


def _store_fingerprint(conn, fingerprint: str) -> None:
    if conn.execute(update(settings).where(settings.c.key == FINGERPRINT_KEY).values(value=fingerprint)).rowcount == 0:
        conn.execute(settings.insert().values(key=FINGERPRINT_KEY, value=fingerprint))


def _addable(column, dialect_name: str):
    """`column` as ALTER TABLE ADD COLUMN can take it: SQLite adds generated columns as VIRTUAL
    only (computed when read, the same values as a STORED one)."""
    if column.computed is not None and dialect_name == "sqlite":
        return Column(column.name, column.type, Computed(column.computed.sqltext, persisted=False))
    return column._copy()
