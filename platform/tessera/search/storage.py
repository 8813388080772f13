"""The index's tables, per dialect, built from an object's definition (never reflected).

SQLite: `search__<object>` is an FTS5 table (one column per searchable field, `f_<field>`: FTS5
reserves `rank` and `rowid` as column names) whose rowid is `search_keys__<object>.n`, an integer
mapped to the record id (FTS5 rows are addressed by integer; object tables are keyed by UUID).
PostgreSQL: `search__<object>` holds (record_id, document tsvector) with a GIN index; the name
field is weighted 'A', the other fields 'D', so name hits rank first.
"""
from __future__ import annotations

from sqlalchemy import (DDL, Column, Index, Integer, MetaData, Table, Text, Uuid, delete, func, insert,
                        inspect, literal_column, select)
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


def fts_table(object_name: str, fields: tuple[str, ...]) -> Table:
    """SQLite: the FTS5 table, as a Table for DML only (its DDL is create_index's)."""
    return Table(index_name(object_name), MetaData(), Column("rowid", Integer, primary_key=True),
                 *[Column(fts_column(f), Text) for f in fields])


def keys_table(object_name: str) -> Table:
    return Table(keys_name(object_name), MetaData(), Column("n", Integer, primary_key=True),
                 Column("record_id", Uuid, nullable=False, unique=True))


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
    fields = obj.searchable_fields
    if not fields:
        return
    if conn.dialect.name == "sqlite":
        keys = keys_table(obj.name)
        chosen = select(table.c.id)
        if where is not None:
            chosen = chosen.where(where)
        conn.execute(insert(keys).from_select(["record_id"], chosen))
        fts = fts_table(obj.name, fields)
        rows = (select(keys.c.n, *[table.c[f] for f in fields])
                .select_from(keys.join(table, table.c.id == keys.c.record_id)))
        if where is not None:
            rows = rows.where(where)
        conn.execute(insert(fts).from_select(["rowid", *[fts_column(f) for f in fields]], rows))
    else:
        docs = documents_table(obj.name)
        rows = select(table.c.id, document(table, fields))
        if where is not None:
            rows = rows.where(where)
        conn.execute(insert(docs).from_select(["record_id", "document"], rows))


def remove(conn, obj: ObjectDef, ids_where) -> None:
    """Drop the index entries of the records whose id satisfies `ids_where(id_column)`."""
    if not obj.searchable_fields:
        return
    if conn.dialect.name == "sqlite":
        keys = keys_table(obj.name)
        fts = fts_table(obj.name, obj.searchable_fields)
        conn.execute(delete(fts).where(fts.c.rowid.in_(select(keys.c.n).where(ids_where(keys.c.record_id)))))
        conn.execute(delete(keys).where(ids_where(keys.c.record_id)))
    else:
        docs = documents_table(obj.name)
        conn.execute(delete(docs).where(ids_where(docs.c.record_id)))
