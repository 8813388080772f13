"""AlterField: a stored field's storage-relevant properties change (type, length, precision/scale,
required, unique, indexed, lookup target / on_delete, restricted picklist values) — checked against
the data first, then applied with Alembic. Split from operations.py, whose helpers it shares."""
from __future__ import annotations

from sqlalchemy import and_, bindparam, delete, func, select, update

from ..meta.model import FieldDef
from ..storage.platform_tables import autonumbers
from .convert import ConversionError, convert, kind
from .operations import (DATA_CHECKED, MAX_EXAMPLES, SAFE, Context, Impact, Operation, Problem, _blank, _count,
                         _ddl_type, _examples, _fill_autonumbers, _fk_name, _fk_spec, _index_specs, _ordered_ids,
                         _replace_fields)

_STORAGE_PROPS = ("type", "max_length", "precision", "scale", "required", "unique", "indexed", "to", "on_delete",
                  "restricted", "values")


class AlterField(Operation):
    """A stored field's storage-relevant properties change: type, length, precision/scale,
    required, unique, indexed, lookup target / on_delete, restricted picklist values."""

    def __init__(self, obj_name: str, old: FieldDef, new: FieldDef, column: str | None = None):
        self.obj_name, self.old, self.new = obj_name, old, new   # old.name == new.name (renames come first)
        self.column = column or old.name    # the column's name before the plan (for the data checks)
        o, n = old, new
        self.retyped = o.type != n.type
        self.retarget = o.is_relation and n.is_relation and o.target != n.target
        self.convert_values = kind(o) != kind(n) or self.retyped or self.retarget or self._narrows()
        self.data_checked = self.convert_values or (n.required and not o.required) or (n.unique and not o.unique)
        self.safety = DATA_CHECKED if self.data_checked else SAFE

    def _narrows(self) -> bool:
        o, n = self.old.options, self.new.options
        if "max_length" in n and int(n["max_length"]) < int(o.get("max_length", 1 << 62)):
            return True
        if "precision" in n and "precision" in o:
            if int(n["scale"]) < int(o["scale"]) or int(n["precision"]) - int(n["scale"]) < int(o["precision"]) - int(o["scale"]):
                return True
        if self.new.type in ("picklist", "multi_picklist") and n.get("restricted", True):
            if not o.get("restricted", True) or set(self.old.picklist_values) - set(self.new.picklist_values):
                return True
        return False

    def changes(self) -> list[str]:
        o, n = self.old, self.new
        out = []
        if o.type != n.type:
            out.append(f"type {o.type} → {n.type}")
        for key in ("max_length", "precision", "scale"):
            if o.options.get(key) != n.options.get(key) and key in n.options:
                out.append(f"{key} {o.options.get(key)} → {n.options.get(key)}")
        for key in ("required", "unique", "indexed"):
            if getattr(o, key) != getattr(n, key):
                out.append(key if getattr(n, key) else f"not {key}")
        if o.target != n.target and n.is_relation and o.is_relation:
            out.append(f"target {o.target} → {n.target}")
        if (o.is_relation and n.is_relation and o.options.get("on_delete") != n.options.get("on_delete")):
            out.append(f"on_delete {o.options.get('on_delete')} → {n.options.get('on_delete')}")
        if n.type in ("picklist", "multi_picklist") and o.type == n.type:
            removed = [v for v in o.picklist_values if v not in n.picklist_values]
            if removed:
                out.append("values removed: " + ", ".join(removed))
            if o.options.get("restricted", True) != n.options.get("restricted", True):
                out.append("restricted" if n.options.get("restricted", True) else "not restricted")
        return out

    def describe(self) -> str:
        return f"alter field {self.obj_name}.{self.new.name}: " + "; ".join(self.changes() or ["storage"])

    # data ----------------------------------------------------------------------------------
    def check(self, conn, ctx: Context) -> Impact:
        o, n = self.old, self.new
        table = ctx.old_table(self.obj_name)
        col = table.c[self.column]
        impact = Impact(rows=_count(conn, table))
        if not impact.rows:
            return impact
        failures: dict[str, Problem] = {}

        def fail(reason, rid, value):
            p = failures.setdefault(reason, Problem(reason, 0))
            p.count += 1
            if len(p.examples) < MAX_EXAMPLES:
                p.examples.append((str(rid), value))

        converted: dict = {}
        if self.convert_values or (n.unique and self.retyped):
            for rid, value in conn.execute(select(table.c.id, col).where(col.isnot(None)).order_by(table.c.created_at, table.c.id)):
                try:
                    converted[rid] = convert(value, o, n)
                except ConversionError as exc:
                    fail(exc.reason, rid, value)
        required_now = n.required and not o.required
        if required_now and self.convert_values:   # blank before, or blank once converted ('' → integer)
            blank_ids = set(conn.execute(select(table.c.id).where(_blank(col, o))).scalars())
            blank_ids |= {rid for rid, v in converted.items() if v is None or v == ""}
            for rid in conn.execute(_ordered_ids(table)).scalars():
                if rid in blank_ids:
                    fail("blank, but the field becomes required", rid, None)
        elif required_now:
            count = _count(conn, table, _blank(col, o))
            if count:
                failures["blank"] = Problem("blank, but the field becomes required", count,
                                            _examples(conn, table, col, count, _blank(col, o)))
        if n.unique and (not o.unique or self.retyped):
            if self.convert_values:
                seen: dict = {}
                for rid, v in converted.items():
                    if v is not None and v != "":
                        seen.setdefault(v, []).append(rid)
                for v, ids in seen.items():
                    if len(ids) > 1:
                        for rid in ids:
                            fail("duplicate value, but the field becomes unique", rid, v)
            else:
                dup = col.in_(select(col).where(col.isnot(None)).group_by(col).having(func.count() > 1))
                count = _count(conn, table, dup)
                if count:
                    failures["dup"] = Problem("duplicate value, but the field becomes unique", count,
                                              _examples(conn, table, col, count, dup))
        impact.problems = list(failures.values())
        if self.convert_values and not impact.problems and converted:
            impact.notes.append(f"converts {len(converted)} value{'s' if len(converted) != 1 else ''}")
        return impact

    # DDL -----------------------------------------------------------------------------------
    def apply(self, ops, ctx: Context) -> None:
        o, n = self.old, self.new
        conn = ctx.conn
        obj = ctx.state[self.obj_name]
        before = ctx.table(self.obj_name)
        after_obj = _replace_fields(obj, {**obj.fields, n.name: n})
        after = ctx.build_table(after_obj)
        name = n.name
        old_ix, new_ix = _index_specs(before.name, o), _index_specs(before.name, n)
        drop_ix = [k for k in old_ix if new_ix.get(k) != old_ix[k]]
        add_ix = [k for k in new_ix if old_ix.get(k) != new_ix[k]]
        old_fk, new_fk = _fk_spec(o), _fk_spec(n)
        if new_fk and not ctx.target_known(new_fk[0]):
            new_fk = None
        fk_changed = old_fk != new_fk
        type_changed = _ddl_type(o, conn.dialect) != _ddl_type(n, conn.dialect)
        rewrite = kind(o) != kind(n)

        values = []
        if rewrite:   # convert in Python, empty the column, change its type, write the values back
            values = [(rid, convert(v, o, n)) for rid, v in conn.execute(select(before.c.id, before.c[name]).where(before.c[name].isnot(None)))]
            conn.execute(update(before).values({name: None}))

        if ctx.sqlite:
            if type_changed or fk_changed:
                ctx.check_foreign_keys_of(before.name)   # rebuilt, its values written back below
                with ops.batch_alter_table(before.name, copy_from=before, recreate="always") as batch:
                    for ix in drop_ix:
                        batch.drop_index(ix)
                    if old_fk and fk_changed:
                        batch.drop_constraint(_fk_name(before.name, name), type_="foreignkey")
                    if type_changed:
                        batch.alter_column(name, type_=after.c[name].type, existing_type=before.c[name].type,
                                           existing_nullable=True)
                    if new_fk and fk_changed:
                        batch.create_foreign_key(_fk_name(before.name, name), f"obj_{new_fk[0]}", [name], ["id"],
                                                 ondelete=new_fk[1])
                    for ix in add_ix:
                        batch.create_index(ix, [name], unique=new_ix[ix])
            else:
                for ix in drop_ix:
                    ops.drop_index(ix, table_name=before.name)
                for ix in add_ix:
                    ops.create_index(ix, before.name, [name], unique=new_ix[ix])
        else:
            for ix in drop_ix:
                ops.drop_index(ix, table_name=before.name)
            if old_fk and fk_changed:
                ops.drop_constraint(_fk_name(before.name, name), before.name, type_="foreignkey")
            if type_changed:
                ops.alter_column(before.name, name, type_=after.c[name].type, existing_type=before.c[name].type,
                                 existing_nullable=True, postgresql_using="NULL" if rewrite else None)
            if new_fk and fk_changed:
                if ctx.exists(new_fk[0]):
                    ops.create_foreign_key(_fk_name(before.name, name), before.name, f"obj_{new_fk[0]}", [name], ["id"],
                                           ondelete=new_fk[1])
                else:
                    ctx.pending_fks.append((before.name, name, new_fk[0], new_fk[1]))
            if values:
                self._write_back(conn, after, name, values)
                values = []
            for ix in add_ix:
                ops.create_index(ix, before.name, [name], unique=new_ix[ix])
        if values:
            self._write_back(conn, after, name, values)
        if n.type == "autonumber" and o.type != "autonumber":
            _fill_autonumbers(conn, after, self.obj_name, n)
        elif o.type == "autonumber" and n.type != "autonumber":
            conn.execute(delete(autonumbers).where(and_(autonumbers.c.object == self.obj_name, autonumbers.c.field == name)))

    @staticmethod
    def _write_back(conn, table, name, values):
        stmt = update(table).where(table.c.id == bindparam("b_id")).values({name: bindparam("b_value")})
        rows = [{"b_id": rid, "b_value": v} for rid, v in values if v is not None]
        for start in range(0, len(rows), 1000):
            conn.execute(stmt, rows[start:start + 1000])

    def state_forwards(self, ctx: Context) -> None:
        obj = ctx.state[self.obj_name]
        ctx.set_object(_replace_fields(obj, {**obj.fields, self.new.name: self.new}))
