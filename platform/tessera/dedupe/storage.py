"""The keys table of an object: `dupkeys__<object>` (record_id, rule, key, length, value).

One row per record and active rule with a key (a record blank in a compared field has none).
The primary key (record_id, rule) serves a record's removal; the index (rule, key, length) serves
matching: equality on the key, and a range of lengths for fuzzy rules (dedupe/match.py).
Built from the metadata, never reflected; kept per object name (SQLAlchemy's statement cache keys
on the Table object, see search/storage.py).
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import (DDL, Column, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text, Uuid,
                        bindparam, delete, inspect, insert)

KEY_LENGTH = 32   # hex characters of a 128-bit digest (dedupe/keys.py)


def table_name(object_name: str) -> str:
    return f"dupkeys__{object_name}"


@lru_cache(maxsize=1024)
def keys_table(object_name: str) -> Table:
    name = table_name(object_name)
    return Table(name, MetaData(),
                 Column("record_id", Uuid, nullable=False),
                 Column("rule", String(80), nullable=False),
                 Column("key", String(KEY_LENGTH), nullable=False),
                 Column("length", Integer),
                 Column("value", Text),
                 PrimaryKeyConstraint("record_id", "rule", name=f"pk_{name}"),
                 Index(f"ix_{name}_match", "rule", "key", "length"))


def existing(conn) -> set[str]:
    """The objects whose keys table exists."""
    prefix = table_name("")
    return {t[len(prefix):] for t in inspect(conn).get_table_names() if t.startswith(prefix)}


def create(conn, object_name: str) -> None:
    keys_table(object_name).create(conn)


def drop(conn, object_name: str) -> None:
    quote = conn.dialect.identifier_preparer.quote
    conn.execute(DDL(f"DROP TABLE IF EXISTS {quote(table_name(object_name))}"))


@lru_cache(maxsize=1024)
def insert_statement(object_name: str):
    return insert(keys_table(object_name))


@lru_cache(maxsize=1024)
def delete_ids_statement(object_name: str, single: bool):
    t = keys_table(object_name)
    match = t.c.record_id == bindparam("ids") if single else t.c.record_id.in_(bindparam("ids", expanding=True))
    return delete(t).where(match)


def delete_rule(conn, object_name: str, rule: str) -> None:
    t = keys_table(object_name)
    conn.execute(delete(t).where(t.c.rule == rule))


def insert_rows(conn, object_name: str, rows: list[dict]) -> None:
    """rows: {record_id, rule, key, length, value} each."""
    if rows:
        conn.execute(insert_statement(object_name), rows)
