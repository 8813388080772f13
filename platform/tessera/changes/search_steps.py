"""The change step of global search (tessera/search): an object's searchable set changed — a field
marked or unmarked `searchable`, a searchable field added, dropped or renamed, the name field
changed, the object created or dropped — so its index is rebuilt from the rows, in the change's
transaction. It runs after every field and object step of the plan: it reads the final columns."""
from __future__ import annotations

from ..meta.model import Metadata
from ..search import maintain
from .operations import Context, Impact, Operation, _count


class RebuildSearchIndex(Operation):
    def __init__(self, name: str, old: tuple[str, ...], new: tuple[str, ...]):
        self.name, self.old, self.new = name, old, new

    def describe(self) -> str:
        if not self.new:
            return f"drop search index of {self.name}"
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
        maintain.rebuild(ctx.conn, obj, ctx.table(self.name) if obj is not None else None,
                         self.name if self.old else None)


def search_steps(old: Metadata | None, new: Metadata) -> list[Operation]:
    before = {n: o.searchable_fields for n, o in (old.objects if old else {}).items()}
    after = {n: o.searchable_fields for n, o in new.objects.items()}
    steps = []
    for name in [*after, *(n for n in before if n not in after)]:
        was, now = before.get(name, ()), after.get(name, ())
        if was != now:
            steps.append(RebuildSearchIndex(name, was, now))
    return steps

