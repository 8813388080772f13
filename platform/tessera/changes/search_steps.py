"""The change step of global search (tessera/search): an object's searchable set changed — a field
marked or unmarked `searchable`, a searchable field added, dropped or renamed, the name field
changed, the object created or dropped — so its index is rebuilt from the rows, in the change's
transaction. It runs after every field and object step of the plan: it reads the final columns.

Whatever a plan says, a version the pipeline activates has every index its objects need:
missing_index_steps adds a build for each object whose index tables are absent (a database made
before search, or one whose index was dropped), so record writes always find their index."""
from __future__ import annotations

from sqlalchemy import inspect

from ..meta.model import Metadata
from ..search import maintain, storage
from .operations import Context, Impact, Operation, _count


class RebuildSearchIndex(Operation):
    def __init__(self, name: str, old: tuple[str, ...], new: tuple[str, ...], *, missing: bool = False):
        """`missing`: the searchable set did not change but the index tables are absent."""
        self.name, self.old, self.new, self.missing = name, old, new, missing

    def describe(self) -> str:
        if not self.new:
            return f"drop search index of {self.name}"
        if self.missing:
            return f"build missing search index of {self.name} ({', '.join(self.new)})"
        verb = "build" if not self.old else "rebuild"
        return f"{verb} search index of {self.name} ({', '.join(self.new)})"

    def check(self, conn, ctx: Context) -> Impact:
        if not self.new or ctx.old_md is None or self.name not in ctx.old_md.objects:
            return Impact()
        rows = _count(conn, ctx.old_table(self.name))
        return Impact(rows=rows, notes=[f"indexes {rows} record{'s' if rows != 1 else ''}"] if rows else [])

    def apply(self, ops, ctx: Context) -> None:
        # the new definition says what is searchable (a flag toggled changes no column, so the
        # model state may not carry it); the table is the state's: the columns as they are now
        obj = ctx.new_md.objects[self.name] if self.new else None
        # a missing index may be half there (one of SQLite's two tables): dropped first, if at all
        maintain.rebuild(ctx.conn, obj, ctx.table(self.name) if obj is not None else None,
                         self.name if self.old or self.missing else None)


def search_steps(old: Metadata | None, new: Metadata) -> list[Operation]:
    before = {n: o.searchable_fields for n, o in (old.objects if old else {}).items()}
    after = {n: o.searchable_fields for n, o in new.objects.items()}
    steps = []
    for name in [*after, *(n for n in before if n not in after)]:
        was, now = before.get(name, ()), after.get(name, ())
        if was != now:
            steps.append(RebuildSearchIndex(name, was, now))
    return steps



def missing_index_steps(conn, new: Metadata, planned: list[Operation]) -> list[Operation]:
    """Builds for the objects of `new` that keep their searchable set (no step planned for them)
    and already have a table, but whose index tables do not exist in the database."""
    rebuilt = {op.name for op in planned if isinstance(op, RebuildSearchIndex)}
    existing_tables = set(inspect(conn).get_table_names())
    present = storage.indexed_objects(conn, new, existing_tables)
    return [RebuildSearchIndex(name, (), obj.searchable_fields, missing=True)
            for name, obj in new.objects.items()
            if obj.searchable_fields and name not in rebuilt and name not in present
            and obj.table_name in existing_tables]
