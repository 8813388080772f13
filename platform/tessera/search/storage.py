"""The index's tables, per dialect, built from an object's definition (never reflected).

SQLite: `search__<object>` is an FTS5 table (one column per searchable field, `f_<field>`: FTS5
reserves `rank` and `rowid` as column names) whose rowid is `search_keys__<object>.n`, an integer
mapped to the record id (FTS5 rows are addressed by integer; object tables are keyed by UUID).
PostgreSQL: `search__<object>` holds (record_id, document tsvector) with a GIN index; the name
field is weighted 'A', the other fields 'D', so name hits rank first.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import (DDL, Column, Index, Integer, MetaData, Table, Text, Uuid, bindparam, delete, func,
                        insert, inspect, literal_column, select)
from sqlalchemy.dialects.postgresql import TSVECTOR

from ..meta.model import Metadata, ObjectDef

TS_CONFIG = literal_column("'simple'::regconfig")   # no stemming, no stop words: codes match as typed
_NOT_ALNUM = r"[^[:alnum:]]+"


def index_name(object_name: str) -> str:
    return f"search__{object_name}"


def keys_name(object_name: str) -> str:
    return f"search_keys__{object_name}"


def table_names(dialect_name: str, object_name: str) -> tuple[str, ...]:
    """The tables an object's index is made of: all present, or the index is missing."""
    if dialect_name == "sqlite":
        return (index_name(object_name), keys_name(object_name))
    return (index_name(object_name),)


def indexed_objects(conn, md: Metadata, existing: set[str] | None = None) -> frozenset[str]:
    """The objects of `md` with searchable fields whose index tables all exist (`existing`: the
    database's table names, read when not given): a database made before search has none."""
    if existing is None:
        existing = set(inspect(conn).get_table_names())
    return frozenset(name for name, obj in md.objects.items() if obj.searchable_fields
                     and existing.issuperset(table_names(conn.dialect.name, name)))


def fts_column(field: str) -> str:
    return f"f_{field}"


# The Table objects are kept (by name and fields): SQLAlchemy's compiled-statement cache keys on
# the Table itself, so a new one per write compiled every index statement again (most of a create).
@lru_cache(maxsize=1024)
def fts_table(object_name: str, fields: tuple[str, ...]) -> Table:
    """SQLite: the FTS5 table, as a Table for DML only (its DDL is create_index's)."""
    return Table(index_name(object_name), MetaData(), Column("rowid", Integer, primary_key=True),
                 *[Column(fts_column(f), Text) for f in fields])


@lru_cache(maxsize=1024)
def keys_table(object_name: str) -> Table:
    return Table(keys_name(object_name), MetaData(), Column("n", Integer, primary_key=True),
                 Column("record_id", Uuid, nullable=False, unique=True))


@lru_cache(maxsize=1024)
def documents_table(object_name: str) -> Table:
    """PostgreSQL: one tsvector document per record."""
    name = index_name(object_name)
    return Table(name, MetaData(), Column("record_id", Uuid, primary_key=True),
                 Column("document", TSVECTOR, nullable=False),
                 Index(f"ix_{name}_document", "document", postgresql_using="gin"))


def normalized(column):
    """PostgreSQL: a field's text as the tokenizer (search/tokens.py) splits it — lower case,
    every run of other characters a space — so '555-1234' and 'ann@acme.com' index their parts."""
    return func.regexp_replace(func.lower(func.coalesce(column, "")), _NOT_ALNUM, " ", "g")


def document(table: Table, fields: tuple[str, ...]):
    """PostgreSQL: the tsvector of a row of `table` (the name field first, weighted 'A')."""
    parts = []
    for i, name in enumerate(fields):
        vector = func.to_tsvector(TS_CONFIG, normalized(table.c[name]))
        parts.append(func.setweight(vector, literal_column("'A'" if i == 0 else "'D'")))
    out = parts[0]
    for part in parts[1:]:
        out = out.op("||")(part)
    return out


def create_index(conn, obj: ObjectDef) -> None:
    fields = obj.searchable_fields
    if not fields:
        return
    if conn.dialect.name == "sqlite":
        keys_table(obj.name).create(conn)
        quote = conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(fts_column(f)) for f in fields)
        # prefix indexes for 2 and 3 characters: suggestions query prefixes as the user types
        conn.execute(DDL(f"CREATE VIRTUAL TABLE {quote(index_name(obj.name))} USING fts5({columns}, "
                         "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"))
    else:
        documents_table(obj.name).create(conn)


def drop_index(conn, object_name: str) -> None:
    quote = conn.dialect.identifier_preparer.quote
    conn.execute(DDL(f"DROP TABLE IF EXISTS {quote(index_name(object_name))}"))
    if conn.dialect.name == "sqlite":
        conn.execute(DDL(f"DROP TABLE IF EXISTS {quote(keys_name(object_name))}"))


def fill(conn, obj: ObjectDef, table: Table, where=None) -> None:
    """Index the rows of `table` (all, or those matching `where`) — none of them indexed yet."""
    if obj.searchable_fields:
        for statement in _fill_statements(conn.dialect.name, obj.name, obj.searchable_fields, table, where):
            conn.execute(statement)


def fill_ids(conn, obj: ObjectDef, table: Table, ids: list) -> None:
    """Index the rows of `table` with these ids (none of them indexed yet)."""
    if obj.searchable_fields and ids:
        for statement in _fill_by_ids(conn.dialect.name, obj.name, obj.searchable_fields, table, len(ids) == 1):
            conn.execute(statement, {"ids": ids[0] if len(ids) == 1 else ids})


def remove_ids(conn, obj: ObjectDef, ids: list) -> None:
    """Drop the index entries of these records."""
    if obj.searchable_fields and ids:
        for statement in _remove_by_ids(conn.dialect.name, obj.name, obj.searchable_fields, len(ids) == 1):
            conn.execute(statement, {"ids": ids[0] if len(ids) == 1 else ids})


def _ids_match(column, single: bool):
    return column == bindparam("ids") if single else column.in_(bindparam("ids", expanding=True))


# Built once per object, fields and table (a write indexes its records with the same statements).
@lru_cache(maxsize=512)
def _fill_by_ids(dialect_name: str, object_name: str, fields: tuple[str, ...], table: Table, single: bool):
    return _fill_statements(dialect_name, object_name, fields, table, _ids_match(table.c.id, single))


@lru_cache(maxsize=512)
def _remove_by_ids(dialect_name: str, object_name: str, fields: tuple[str, ...], single: bool):
    return _remove_statements(dialect_name, object_name, fields, lambda column: _ids_match(column, single))


def remove_selected(conn, obj: ObjectDef, ids_select) -> None:
    """Drop the index entries of the records a SELECT of ids names (the children a delete cascades
    to: search/maintain.py deleting)."""
    if obj.searchable_fields:
        for statement in _remove_statements(conn.dialect.name, obj.name, obj.searchable_fields,
                                            lambda column: column.in_(ids_select)):
            conn.execute(statement)


def _remove_statements(dialect_name: str, object_name: str, fields: tuple[str, ...], match):
    if dialect_name == "sqlite":
        keys, fts = keys_table(object_name), fts_table(object_name, fields)
        return (delete(fts).where(fts.c.rowid.in_(select(keys.c.n).where(match(keys.c.record_id)))),
                delete(keys).where(match(keys.c.record_id)))
    docs = documents_table(object_name)
    return (delete(docs).where(match(docs.c.record_id)),)


def _fill_statements(dialect_name: str, object_name: str, fields: tuple[str, ...], table: Table, where):
    if dialect_name == "sqlite":
        keys = keys_table(object_name)
        chosen = select(table.c.id)
        rows = (select(keys.c.n, *[table.c[f] for f in fields])
                .select_from(keys.join(table, table.c.id == keys.c.record_id)))
        if where is not None:
            chosen, rows = chosen.where(where), rows.where(where)
        fts = fts_table(object_name, fields)
        return (insert(keys).from_select(["record_id"], chosen),
                insert(fts).from_select(["rowid", *[fts_column(f) for f in fields]], rows))
    rows = select(table.c.id, document(table, fields))
    if where is not None:
        rows = rows.where(where)
    return (insert(documents_table(object_name)).from_select(["record_id", "document"], rows),)
