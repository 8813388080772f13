"""Making a lookup a hierarchy: the data must already be a tree (no cycles, at most MAX_DEPTH levels).

A step of its own, planned when a stored self-lookup gains `hierarchy: true` (changes/planner.py):
no DDL, but data-checked — the pipeline refuses while any record is below itself through the
field, naming those records and their cycles, so the record service's guarantee (records/hierarchy.py)
holds for the data it starts with.
"""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from ..expr.hierarchy import MAX_DEPTH, ancestor_chains
from .operations import DATA_CHECKED, MAX_EXAMPLES, Context, Impact, Operation, Problem


class MakeHierarchy(Operation):
    safety = DATA_CHECKED
    ddl = False

    def __init__(self, obj_name: str, field_name: str, column: str, name_field: str | None):
        self.obj_name, self.field_name, self.column, self.name_field = obj_name, field_name, column, name_field

    def describe(self) -> str:
        return f"make field {self.obj_name}.{self.field_name} a hierarchy (checked: no cycles, at most {MAX_DEPTH} levels)"

    def check(self, conn, ctx: Context) -> Impact:
        table = ctx.old_table(self.obj_name)
        parent = table.c[self.column]
        starts = select(table.c.id).where(parent.isnot(None))
        chain = ancestor_chains(table, self.column, starts)
        bad = (select(chain.c.start, func.max(chain.c.depth))
               .where(or_(and_(chain.c.depth > 0, chain.c.node == chain.c.start), chain.c.depth > MAX_DEPTH))
               .group_by(chain.c.start).order_by(chain.c.start))
        found = conn.execute(bad).all()
        impact = Impact(rows=len(found))
        if not found:
            return impact
        cycles = [start for start, depth in found if depth <= MAX_DEPTH]
        deep = [start for start, depth in found if depth > MAX_DEPTH]
        if cycles:
            examples = [(self._name(conn, table, rid), self._cycle(conn, table, rid)) for rid in cycles[:MAX_EXAMPLES]]
            impact.problems.append(Problem(f"below itself through {self.field_name} (a cycle), but the field "
                                           "becomes a hierarchy", len(cycles), examples))
        if deep:
            impact.problems.append(Problem(f"more than {MAX_DEPTH} levels deep through {self.field_name}, but a "
                                           f"hierarchy has at most {MAX_DEPTH} levels", len(deep),
                                           [(self._name(conn, table, rid), None) for rid in deep[:MAX_EXAMPLES]]))
        return impact

    def _cycle(self, conn, table, rid) -> str:
        chain = ancestor_chains(table, self.column, [rid])
        return " → ".join(self._name(conn, table, node)
                          for node in conn.execute(select(chain.c.node).order_by(chain.c.depth)).scalars())

    def _name(self, conn, table, rid) -> str:
        if self.name_field and self.name_field in table.c:
            name = conn.execute(select(table.c[self.name_field]).where(table.c.id == rid)).scalar()
            if name is not None:
                return f"{name} ({rid})"
        return str(rid)
