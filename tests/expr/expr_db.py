"""Test helpers for the expression language: a table with a column of every expression type and
a way to run a compiled expression's SQL over given rows.

(A module of its own, not conftest.py, so test modules can import it by name.)
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from dataclasses import dataclass

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, String, Table, Text,
                        Time, Uuid, insert, select)

# path -> (column name, expression type). ("account", "industry") stands for a field reached
# through a lookup: the caller does the join, so here it is just another column.
FIELDS = {
    ("name",): ("name", "text"),
    ("notes",): ("notes", "text"),
    ("account", "industry"): ("industry", "text"),
    ("qty",): ("qty", "integer"),
    ("amount",): ("amount", "number"),
    ("rate",): ("rate", "number"),
    ("flag",): ("flag", "boolean"),
    ("due",): ("due", "date"),
    ("seen",): ("seen", "datetime"),
    ("at",): ("at", "time"),
    ("account",): ("account", "id"),
}


def resolve_type(path):
    found = FIELDS.get(tuple(path))
    return found[1] if found else None


def make_table(metadata: MetaData, name: str) -> Table:
    # Column types as the storage layer maps field types (SQLAlchemy generic types).
    return Table(
        name, metadata,
        Column("pk", Integer, primary_key=True, autoincrement=False),
        Column("name", String(255)),
        Column("notes", Text),
        Column("industry", String(255)),
        Column("qty", BigInteger),
        Column("amount", Numeric(18, 2, asdecimal=True)),
        Column("rate", Numeric(5, 2, asdecimal=True)),
        Column("flag", Boolean(create_constraint=False)),
        Column("due", Date),
        Column("seen", DateTime(timezone=True)),
        Column("at", Time),
        Column("account", Uuid),
    )


def database_urls():
    urls = [("sqlite", "sqlite://")]
    if os.environ.get("TESSERA_TEST_DATABASE_URL"):
        urls.append(("postgresql", os.environ["TESSERA_TEST_DATABASE_URL"]))
    return urls


@dataclass
class Database:
    engine: object
    table: Table

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    def column_for(self, path):
        return self.table.c[FIELDS[tuple(path)][0]]

    def run(self, compiled, rows: list[dict], *, now=None, user=None) -> list:
        """The compiled expression's SQL value for each row (rolled back afterwards)."""
        return [values[0] for values in self.run_many([compiled], rows, now=now, user=user)]

    def run_many(self, compiled: list, rows: list[dict], *, now=None, user=None) -> list[tuple]:
        """The SQL values of several compiled expressions, one tuple per row, in one query."""
        expressions = [c.to_sql(self.column_for, dialect_name=self.dialect_name, now=now, user=user).label(f"e{i}")
                       for i, c in enumerate(compiled)]
        with self.engine.connect() as conn:
            with conn.begin() as transaction:
                if rows:
                    conn.execute(insert(self.table), [{"pk": i, **_full(row)} for i, row in enumerate(rows)])
                query = select(*expressions).select_from(self.table).order_by(self.table.c.pk)
                values = [tuple(r) for r in conn.execute(query)]
                transaction.rollback()
        return values

    def where(self, compiled, rows: list[dict], *, now=None, user=None) -> list[int]:
        """Indexes of the rows a boolean expression selects as a WHERE clause."""
        expression = compiled.to_sql(self.column_for, dialect_name=self.dialect_name, now=now, user=user)
        with self.engine.connect() as conn:
            with conn.begin() as transaction:
                conn.execute(insert(self.table), [{"pk": i, **_full(row)} for i, row in enumerate(rows)])
                query = select(self.table.c.pk).where(expression).order_by(self.table.c.pk)
                found = [r.pk for r in conn.execute(query)]
                transaction.rollback()
        return found


def _full(row: dict) -> dict:
    out = {column: None for column, _ in FIELDS.values()}
    for path, value in row.items():
        if isinstance(value, datetime):
            # Stored as UTC, as the storage layer does (SQLite would otherwise keep the wall time).
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        if FIELDS[path][1] == "id" and isinstance(value, str):
            value = uuid.UUID(value)
        out[FIELDS[path][0]] = value
    return out
