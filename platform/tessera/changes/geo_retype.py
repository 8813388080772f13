"""A stored field's storage change when a geolocation is on either side: text "lat, lng" → a
geolocation, a geolocation → text, or a geolocation's scale or required flag.

A geolocation is two columns, so the single-column AlterField does not apply: every value is
converted in Python first (check), then the old storage is dropped, the new one added and the
values written back, in the pipeline's one transaction. Refused, with a count and examples, when
some value does not convert or a field becoming required has blanks.
"""
from __future__ import annotations

from sqlalchemy import Column, bindparam, select, update

from ..meta.geolocations import format_geolocation
from ..meta.model import FieldDef
from ..storage.tables import column_type, field_indexes
from . import geo_ops
from .convert import ConversionError
from .operations import DATA_CHECKED, MAX_EXAMPLES, Context, Impact, Operation, Problem, _replace_fields


class AlterGeolocation(Operation):
    safety = DATA_CHECKED

    def __init__(self, obj_name: str, old: FieldDef, new: FieldDef, column: str | None = None):
        self.obj_name, self.old, self.new = obj_name, old, new   # old.name == new.name (renames come first)
        self.column = column or old.name   # the field's name before the plan (for the data checks)

    def describe(self) -> str:
        o, n = self.old, self.new
        parts = [f"type {o.type} → {n.type}"] if o.type != n.type else []
        if o.options.get("scale") != n.options.get("scale") and n.type == "geolocation" == o.type:
            parts.append(f"scale {o.options.get('scale')} → {n.options.get('scale')}")
        if o.required != n.required:
            parts.append("required" if n.required else "not required")
        return f"alter field {self.obj_name}.{n.name}: " + "; ".join(parts or ["storage"])

    def _values(self, conn, table, name: str) -> tuple[list, dict[str, Problem]]:
        """(converted (id, value) pairs, problems by reason)."""
        o, n = self.old, self.new
        if o.type == "geolocation":
            rows = geo_ops.read_points(conn, table, name)
        else:
            col = table.c[name]
            rows = list(conn.execute(select(table.c.id, col).where(col.isnot(None))
                                     .order_by(table.c.created_at, table.c.id)))
        out, problems = [], {}
        for rid, value in rows:
            try:
                if n.type == "geolocation":
                    converted = None if isinstance(value, str) and not value.strip() else geo_ops.to_point(value, n)
                else:
                    converted = geo_ops.from_point(value, o, n)
            except ConversionError as exc:
                problem = problems.setdefault(exc.reason, Problem(exc.reason, 0))
                problem.count += 1
                if len(problem.examples) < MAX_EXAMPLES:
                    shown = format_geolocation(value) if o.type == "geolocation" else value
                    problem.examples.append((str(rid), shown))
                continue
            out.append((rid, converted))
        return out, problems

    def check(self, conn, ctx: Context) -> Impact:
        problem = geo_ops.retype_convertible(self.old, self.new) if self.old.type != self.new.type else None
        table = ctx.old_table(self.obj_name)
        ids = list(conn.execute(select(table.c.id).order_by(table.c.created_at, table.c.id)).scalars())
        impact = Impact(rows=len(ids))
        if not ids:
            return impact
        if problem is not None:
            impact.problems.append(Problem(problem, len(ids), [(str(i), None) for i in ids[:MAX_EXAMPLES]]))
            return impact
        values, problems = self._values(conn, table, self.column)
        impact.problems = list(problems.values())
        if self.new.required:
            have = {rid for rid, v in values if v is not None and v != ""}
            blank = [rid for rid in ids if rid not in have]
            if blank:
                impact.problems.append(Problem("blank, but the field is required", len(blank),
                                               [(str(rid), None) for rid in blank[:MAX_EXAMPLES]]))
        if not impact.problems and values:
            impact.notes.append(f"converts {len(values)} value{'s' if len(values) != 1 else ''}")
        return impact

    def apply(self, ops, ctx: Context) -> None:
        o, n = self.old, self.new
        if o.type == n.type and o.options.get("scale") == n.options.get("scale"):
            return   # required only: the check was the whole change (the record service enforces it)
        obj = ctx.state[self.obj_name]
        before = ctx.table(self.obj_name)
        values, _problems = self._values(ctx.conn, before, o.name)   # the check refused any failure
        without = _replace_fields(obj, {k: f for k, f in obj.fields.items() if k != o.name})
        after_obj = _replace_fields(obj, {**obj.fields, n.name: n})
        after = ctx.build_table(after_obj)
        # drop the old storage
        if o.type == "geolocation":
            geo_ops.drop_columns(ops, ctx, before, o)
        else:
            for ix in field_indexes(before.name, o):
                ops.drop_index(ix.name, table_name=before.name)
            ops.drop_column(before.name, o.name)
        # add the new one, then write the converted values
        if n.type == "geolocation":
            geo_ops.add_columns(ops, ctx, ctx.build_table(without), after, n)
            geo_ops.write_points(ctx.conn, after, n, values)
        else:
            ops.add_column(after.name, Column(n.name, column_type(n), nullable=True))
            stmt = update(after).where(after.c.id == bindparam("b_id")).values({n.name: bindparam("b_value")})
            rows = [{"b_id": rid, "b_value": v} for rid, v in values if v is not None]
            for start in range(0, len(rows), 1000):
                ctx.conn.execute(stmt, rows[start:start + 1000])
            for ix in field_indexes(after.name, n):
                ops.create_index(ix.name, after.name, [n.name], unique=bool(ix.unique))

    def state_forwards(self, ctx: Context) -> None:
        obj = ctx.state[self.obj_name]
        ctx.set_object(_replace_fields(obj, {**obj.fields, self.new.name: self.new}))


def is_geolocation_change(old: FieldDef, new: FieldDef) -> bool:
    return old.type == "geolocation" or new.type == "geolocation"

