"""Renaming an object (`renamed_from: old_name` on the object): its table, its records and
everything the platform keeps about them follow the new name.

The table is renamed (both databases rename in place; SQLite ≥ 3.26 also rewrites the foreign
keys of other tables that point at it). Names derived from the table name — its indexes, and on
PostgreSQL its foreign keys — are made again under the new name: later steps find constraints by
the naming convention (storage/naming.py), so a constraint left under the old name would be lost
to them. The platform's own tables that name records by object (`object` columns: history,
shares, files, approvals, workflow runs, the outbox …) are updated in the same transaction.
Search indexes and duplicate keys are derived data: the search and dedupe steps of the plan
drop the old name's and build the new name's.
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import update

from ..meta.model import ObjectDef
from ..storage.platform_tables import platform_metadata as platform_tables
from .operations import Context, Impact, Operation, _count, _fk_name, _fk_target


def object_mapping(old: dict[str, ObjectDef], new: dict[str, ObjectDef]) -> dict[str, str]:
    """New object name -> old object name: the same name, `renamed_from`, or a rename being undone
    (the old object says `renamed_from: X` and the new metadata has X again: a rollback)."""
    mapping = {n: n for n in new if n in old}
    for n, obj in new.items():
        if n not in mapping and obj.renamed_from in old and obj.renamed_from not in new \
                and obj.renamed_from not in mapping.values():
            mapping[n] = obj.renamed_from
    for o, obj in old.items():
        back = obj.renamed_from
        if back and back in new and back not in mapping and o not in new and o not in mapping.values():
            mapping[back] = o
    return mapping


class RenameObject(Operation):
    def __init__(self, old: ObjectDef, new_name: str):
        self.old, self.new_name = old, new_name

    def describe(self) -> str:
        return f"rename object {self.old.name} → {self.new_name} (its table and records kept)"

    def check(self, conn, ctx: Context) -> Impact:
        rows = _count(conn, ctx.old_table(self.new_name))
        return Impact(rows=rows, notes=[f"keeps {rows} record{'s' if rows != 1 else ''}"] if rows else [])

    def apply(self, ops, ctx: Context) -> None:
        before = ctx.table(self.old.name)
        after = ctx.build_table(replace(ctx.state[self.old.name], name=self.new_name))
        for ix in sorted(before.indexes, key=lambda i: i.name):
            ops.drop_index(ix.name, table_name=before.name)
        if not ctx.sqlite:
            for c in before.columns:
                if c.foreign_keys:
                    ops.drop_constraint(_fk_name(before.name, c.name), before.name, type_="foreignkey", if_exists=True)
        ops.rename_table(before.name, after.name)
        for ix in sorted(after.indexes, key=lambda i: i.name):
            ops.create_index(ix.name, after.name, [c.name for c in ix.columns], unique=bool(ix.unique))
        if ctx.sqlite:
            ctx.check_foreign_keys_of(after.name)
        else:
            for c in after.columns:
                for fk in c.foreign_keys:
                    target = _fk_target(fk)[len("obj_"):]
                    if target == self.new_name or (ctx.exists(target) and target != self.old.name):
                        ops.create_foreign_key(_fk_name(after.name, c.name), after.name, f"obj_{target}", [c.name],
                                               ["id"], ondelete=fk.ondelete)
        for table in platform_tables.sorted_tables:
            if "object" in table.c:
                ctx.conn.execute(update(table).where(table.c.object == self.old.name).values(object=self.new_name))

    def state_forwards(self, ctx: Context) -> None:
        obj = ctx.state[self.old.name]
        ctx.set_object(None, self.old.name)
        ctx.set_object(replace(obj, name=self.new_name))
