"""The change pipeline's DDL for related_to fields (meta/related.py): two columns — the object's
name and the record's id — and their composite index, added, dropped and renamed together.

No foreign key and no CHECK constraint, so SQLite adds, drops and renames the columns in place
(no table rebuild). A type change into or out of related_to is planned as a drop and an add
(changes/planner.py): there is no value to convert a text or a lookup into without knowing the
object, and the plan says plainly that the old values go.
"""
from __future__ import annotations

from ..meta.model import FieldDef
from ..meta.related import column_names
from ..storage.tables import field_indexes, related_columns


def add_columns(ops, table_name: str, f: FieldDef) -> None:
    for column in related_columns(f):
        ops.add_column(table_name, column)
    for ix in field_indexes(table_name, f):
        ops.create_index(ix.name, table_name, [str(c) for c in ix.expressions])


def drop_columns(ops, ctx, table_name: str, f: FieldDef) -> None:
    for ix in field_indexes(table_name, f):   # SQLite will not drop an indexed column
        ops.drop_index(ix.name, table_name=table_name)
    for name in column_names(f.name):
        ops.drop_column(table_name, name)


def rename_columns(ops, table_name: str, old: FieldDef, new_name: str) -> None:
    for ix in field_indexes(table_name, old):
        ops.drop_index(ix.name, table_name=table_name)
    for was, now in zip(column_names(old.name), column_names(new_name)):
        ops.alter_column(table_name, was, new_column_name=now)
    renamed = FieldDef.from_doc(new_name, {"type": "related_to", **dict(old.options)})
    for ix in field_indexes(table_name, renamed):
        ops.create_index(ix.name, table_name, [str(c) for c in ix.expressions])


def is_related_change(old: FieldDef, new: FieldDef) -> bool:
    """A type change into or out of related_to (a drop and an add)."""
    return (old.type == "related_to") != (new.type == "related_to")
