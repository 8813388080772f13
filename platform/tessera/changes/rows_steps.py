"""Change steps of rows fields (records/rows.py): a child object edited as rows of a parent has a
`position` column, and a child of several parents a CHECK that exactly one parent is set.

- RowPositions: the child's set of row links (master_detail fields some parent's rows field hangs
  by) changed. Adding the first link adds the `position` column and numbers the existing children
  1..n per parent by created order (oldest first); each link gets an index (parent key, position);
  losing the last link drops the column — destructive: the order of the rows is lost.
- OneParentCheck: the set of master_detail fields changed on an object with several: the CHECK is
  replaced (data-checked: refused while any row has no parent or more than one, with examples).

Both run after the plan's added fields (the link column must exist) and before its dropped ones
(the CHECK must no longer name a column being dropped; on SQLite a dropped foreign key column
rebuilds the table from the state these steps leave).
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import bindparam, case, func, select, update

from ..storage.tables import POSITION, one_parent_check, one_parent_name
from .operations import DATA_CHECKED, DESTRUCTIVE, MAX_EXAMPLES, SAFE, Context, Impact, Operation, Problem, _count


class RowPositions(Operation):
    def __init__(self, obj_name: str, old_links: tuple[str, ...], new_links: tuple[str, ...]):
        self.obj_name, self.old, self.new = obj_name, tuple(old_links), tuple(new_links)
        self.safety = DESTRUCTIVE if self.old and not self.new else SAFE

    def describe(self) -> str:
        if not self.old:
            return f"add row positions to {self.obj_name} (rows of its {', '.join(self.new)})"
        if not self.new:
            return f"drop row positions of {self.obj_name}"
        return f"change row positions of {self.obj_name} (rows of its {', '.join(self.new)})"

    def check(self, conn, ctx: Context) -> Impact:
        table = ctx.old_table(self.obj_name)
        rows = _count(conn, table)
        impact = Impact(rows=rows)
        if rows and not self.old:
            impact.notes.append(f"numbers {rows} existing row{'s' if rows != 1 else ''} by created order")
        elif rows and not self.new:
            impact.lost = rows
            impact.notes.append(f"would lose the order of {rows} row{'s' if rows != 1 else ''}")
        return impact

    def apply(self, ops, ctx: Context) -> None:
        before = ctx.table(self.obj_name)
        obj = replace(ctx.state[self.obj_name], row_links=self.new)
        after = ctx.build_table(obj)
        gone = [ix.name for ix in before.indexes if POSITION in ix.columns and ix.name not in
                {i.name for i in after.indexes}]
        for name in gone:
            ops.drop_index(name, table_name=before.name)
        if not self.new:
            ops.drop_column(before.name, POSITION)
            return
        if not self.old:
            ops.add_column(after.name, after.c[POSITION]._copy())
        for link in self.new:
            if link not in self.old:
                _number(ctx.conn, after, link)
        have = {ix.name for ix in before.indexes}
        for ix in after.indexes:
            if POSITION in ix.columns and ix.name not in have:
                ops.create_index(ix.name, after.name, [c.name for c in ix.columns])

    def state_forwards(self, ctx: Context) -> None:
        ctx.set_object(replace(ctx.state[self.obj_name], row_links=self.new))


def _number(conn, table, link: str) -> None:
    """Positions 1..n per parent through `link`, oldest first (rows of another parent untouched)."""
    parent = table.c[link]
    ranked = select(table.c.id, func.row_number().over(partition_by=parent, order_by=(table.c.created_at, table.c.id))
                    .label("n")).where(parent.isnot(None))
    pairs = [{"_rid": rid, "_n": n} for rid, n in conn.execute(ranked)]
    if pairs:
        conn.execute(update(table).where(table.c.id == bindparam("_rid")).values({POSITION: bindparam("_n")}), pairs)


class OneParentCheck(Operation):
    safety = DATA_CHECKED

    def __init__(self, obj_name: str, old: tuple[str, ...], new: tuple[str, ...]):
        self.obj_name, self.old, self.new = obj_name, tuple(old), tuple(new)

    def describe(self) -> str:
        if not self.new:
            return f"drop the one-parent check of {self.obj_name}"
        return f"check that exactly one of {', '.join(self.new)} is set on {self.obj_name}"

    def check(self, conn, ctx: Context) -> Impact:
        if not self.new:
            return Impact()
        table = ctx.old_table(self.obj_name)
        present = [p for p in self.new if p in table.c]   # a field this plan adds is blank on every row
        count = sum((case((table.c[p].isnot(None), 1), else_=0) for p in present), 0) if present else None
        impact = Impact(rows=_count(conn, table))
        if count is None:
            bad = [(str(rid), None) for rid in conn.execute(select(table.c.id).limit(MAX_EXAMPLES)).scalars()]
            n = impact.rows
        else:
            n = _count(conn, table, count != 1)
            bad = [(str(rid), None) for rid in conn.execute(select(table.c.id).where(count != 1)
                                                            .order_by(table.c.created_at, table.c.id)
                                                            .limit(MAX_EXAMPLES)).scalars()]
        if n:
            impact.problems.append(Problem(f"would not have exactly one of {', '.join(self.new)} set", n, bad))
        return impact

    def apply(self, ops, ctx: Context) -> None:
        obj = replace(ctx.state[self.obj_name], one_parent=self.new)
        after = ctx.build_table(obj)
        if ctx.sqlite:   # SQLite cannot ALTER a constraint: rebuild the table with the new CHECK
            ctx.check_foreign_keys_of(after.name)
            with ops.batch_alter_table(after.name, copy_from=after, recreate="always"):
                pass
            return
        if self.old:
            ops.drop_constraint(one_parent_name(after.name), after.name, type_="check", if_exists=True)
        check = one_parent_check(obj)
        if check is not None:
            ops.create_check_constraint(one_parent_name(after.name), after.name, check.sqltext)

    def state_forwards(self, ctx: Context) -> None:
        ctx.set_object(replace(ctx.state[self.obj_name], one_parent=self.new))
