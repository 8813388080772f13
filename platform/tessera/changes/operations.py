"""Change operations: small objects that each describe, check and apply one step of a plan.

Modelled on Django's migration operations. Every operation
  - `describe()`s itself in one line (`add field opportunity.region (picklist)`),
  - has a `safety` class: "safe", "data-checked" (refused while any row would fail) or
    "destructive" (refused without allow_destructive: data is deleted),
  - `check(conn, ctx)`s the data it would touch, returning an `Impact`, against the database as
    it is *before* the plan (every check runs before any step applies),
  - `apply(ops, ctx)`s itself with Alembic `Operations` on the pipeline's connection, and
  - moves the model state forward (`state_forwards`), so later steps build their tables from the
    state the database is actually in at that point — tables are built from metadata, never
    reflected.

Data checks and data steps use SQLAlchemy Core. On SQLite, table rewrites go through Alembic's
batch mode with `copy_from` (no reflection) while the pipeline holds foreign keys OFF (see
`tessera.changes.pipeline`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field as dc_field, replace
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import (CheckConstraint, Column, ForeignKey, Index, MetaData, Table, Uuid, and_, bindparam, delete, func, insert,
                        or_, select, update)
from sqlalchemy.sql.elements import conv

from ..expr import compile_expression
from ..meta.autonumbers import format_autonumber
from ..meta.fieldtypes import SYSTEM_FIELDS, USER_LINKS
from ..meta.geolocations import column_names
from ..meta.model import FieldDef, ObjectDef
from ..meta.validate import expected_type, resolver
from ..storage.naming import NAMING_CONVENTION
from ..storage.platform_tables import autonumbers, field_history
from ..storage.tables import ON_DELETE, build_table, column_type, field_indexes
from . import related_ops, geo_ops
from .convert import ConversionError, kind, literal

SAFE, DATA_CHECKED, DESTRUCTIVE = "safe", "data-checked", "destructive"
SAFETY_ORDER = {SAFE: 0, DATA_CHECKED: 1, DESTRUCTIVE: 2}
MAX_EXAMPLES = 5


# --------------------------------------------------------------------------- impacts

@dataclass
class Problem:
    """Rows that would fail one check, e.g. `3 rows: not an integer, e.g. 8f1c…: 'abc'`."""
    reason: str
    count: int
    examples: list[tuple[str, Any]] = dc_field(default_factory=list)   # (record id, value)

    def __str__(self) -> str:
        text = f"{self.count} row{'s' if self.count != 1 else ''}: {self.reason}"
        if self.examples:
            text += ", e.g. " + ", ".join(f"{i}: {shown_value(v)}" for i, v in self.examples)
        return text


@dataclass
class Impact:
    """What one step does to the data: rows it touches, rows that would fail, values it deletes."""
    rows: int = 0
    problems: list[Problem] = dc_field(default_factory=list)
    lost: int = 0                     # values (or rows, for a dropped object) that would be deleted
    notes: list[str] = dc_field(default_factory=list)

    @property
    def failing(self) -> int:
        return sum(p.count for p in self.problems)

    @property
    def ok(self) -> bool:
        return not self.problems


def shown_value(value) -> str:
    """A stored value as the person who typed it would write it (not a Python repr): blank, 0.5,
    2024-01-31, true, "text"."""
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, (int, float)):
        return format(value, "g") if isinstance(value, float) else str(value)
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)


# --------------------------------------------------------------------------- context

class Context:
    """What the steps of one run share: the connection, both metadata versions, and the model
    state of the database as the steps move it forward."""

    def __init__(self, conn, old_md, new_md, now):
        self.conn = conn
        self.dialect = conn.dialect.name
        self.sqlite = self.dialect == "sqlite"
        self.old_md, self.new_md, self.now = old_md, new_md, now
        # storage: every table the database keeps, deprecated ones included (meta/deprecation.py)
        self.state: dict[str, ObjectDef] = dict(old_md.storage_objects) if old_md else {}
        self.pending_fks: list[tuple[str, str, str, str]] = []   # (table, column, target object, ondelete)
        self._tables: dict[int, tuple[ObjectDef, Table]] = {}
        self._fk_suspects: set[str] = set()

    # foreign keys (SQLite) -----------------------------------------------------------------
    def check_foreign_keys_of(self, table_name: str) -> None:
        """SQLite runs the steps with foreign keys OFF (see changes/pipeline.py): a step that may
        leave references of `table_name` dangling — it rebuilt the table, wrote lookup values, or
        dropped a table it refers to — names it here, and the pipeline checks its references
        before COMMIT. Checking only these tables keeps a change that rebuilds nothing (ADD
        COLUMN) independent of the amount of data."""
        self._fk_suspects.add(table_name)

    def foreign_key_tables(self) -> list[str]:
        """The tables to check, as they are at the end of the run (dropped ones left out)."""
        existing = {obj.table_name for obj in self.state.values()}
        return sorted(self._fk_suspects & existing)

    # tables ---------------------------------------------------------------------------------
    def table(self, name: str) -> Table:
        """The table of object `name` as it is in the database now (at this point of the run)."""
        return self._table_for(self.state[name])

    def build_table(self, obj: ObjectDef) -> Table:
        """The table for `obj` (a state to come)."""
        return self._table_for(obj)

    def old_table(self, name: str) -> Table:
        """The table of object `name` before the plan (what the data checks read); a renamed
        object's (`renamed_from`) under its old name."""
        old = self.old_md.storage_objects
        if name not in old:
            new = self.new_md.storage_objects.get(name)
            name = new.renamed_from if new is not None and new.renamed_from in old else name
        return self._table_for(old[name])

    def _table_for(self, obj: ObjectDef) -> Table:
        hit = self._tables.get(id(obj))
        if hit is None or hit[0] is not obj:
            hit = self._tables[id(obj)] = (obj, _single_table(obj))
        return hit[1]

    def set_object(self, obj: ObjectDef | None, name: str | None = None) -> None:
        if obj is None:
            self.state.pop(name, None)
        else:
            self.state[obj.name] = obj

    def exists(self, name: str) -> bool:
        return name in self.state

    def target_known(self, target: str) -> bool:
        """FKs are only declared to objects the new metadata has (e.g. `owner` → user)."""
        return target in self.new_md.storage_objects


def _single_table(obj: ObjectDef) -> Table:
    """One object's table, built from metadata (never reflected), in its own MetaData with stub
    tables for its foreign-key targets so that DDL compiles."""
    md = MetaData(naming_convention=NAMING_CONVENTION)
    table = build_table(obj, md)
    for fk in list(table.foreign_keys):
        target = fk.target_fullname.split(".")[0]
        if target not in md.tables:
            Table(target, md, Column("id", Uuid, primary_key=True))
    return table


def _replace_fields(obj: ObjectDef, fields: dict[str, FieldDef]) -> ObjectDef:
    return replace(obj, fields=MappingProxyType(dict(fields)))


def _fk_target(fk) -> str:
    return fk.target_fullname.split(".")[0]


def _object_of(table_name: str) -> str:
    return table_name[len("obj_"):]


def _fk_name(table: str, column: str) -> str:
    return f"fk_{table}_{column}"


def _copy_table_items(table: Table, keep_fk) -> list:
    items = []
    for c in table.columns:
        fks = [ForeignKey(fk.target_fullname, ondelete=fk.ondelete) for fk in c.foreign_keys if keep_fk(_fk_target(fk))]
        items.append(Column(c.name, c.type, *fks, primary_key=c.primary_key, nullable=c.nullable))
    for ix in sorted(table.indexes, key=lambda i: i.name):
        items.append(Index(ix.name, *[c.name for c in ix.columns], unique=ix.unique))
    for ck in sorted((c for c in table.constraints if isinstance(c, CheckConstraint)), key=lambda c: c.name):
        items.append(CheckConstraint(ck.sqltext, name=conv(ck.name)))   # a geolocation's (storage/tables.py)
    return items


def _index_specs(table_name: str, f: FieldDef | None) -> dict[str, bool]:
    """{index name: unique} for a stored field."""
    if f is None or not f.stored:
        return {}
    return {ix.name: bool(ix.unique) for ix in field_indexes(table_name, f)}


def _fk_spec(f: FieldDef | None):
    if f is None or not f.stored or not f.is_relation:
        return None
    return (f.target, ON_DELETE[f.options["on_delete"]])


def _ddl_type(f: FieldDef, dialect) -> str:
    return str(column_type(f).compile(dialect=dialect))


def _blank(col, f: FieldDef):
    return or_(col.is_(None), col == "") if kind(f) == "str" else col.is_(None)


def _count(conn, table, *where) -> int:
    return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _ordered_ids(table):
    return select(table.c.id).order_by(table.c.created_at, table.c.id)


def _set_counter(conn, obj: str, fname: str, next_value: int) -> None:
    where = and_(autonumbers.c.object == obj, autonumbers.c.field == fname)
    conn.execute(delete(autonumbers).where(where))
    conn.execute(insert(autonumbers).values(object=obj, field=fname, next_value=next_value))


def _fill_autonumbers(conn, table: Table, obj: str, f: FieldDef) -> int:
    """Number the rows that have no value (oldest first) and move the counter past them, so
    numbers never repeat. Returns how many rows were numbered."""
    col = table.c[f.name]
    rows = conn.execute(_ordered_ids(table).add_columns(table.c.created_at).where(_blank(col, f))).all()
    start = int(f.options.get("start", 1))
    current = conn.execute(select(autonumbers.c.next_value).where(
        and_(autonumbers.c.object == obj, autonumbers.c.field == f.name))).scalar()
    first = max(start, current or start)
    if rows:
        stmt = update(table).where(table.c.id == bindparam("b_id")).values({f.name: bindparam("b_value")})
        fmt = f.options.get("format", "{0}")
        conn.execute(stmt, [{"b_id": i, "b_value": format_autonumber(fmt, first + n, created)}
                            for n, (i, created) in enumerate(rows)])
    _set_counter(conn, obj, f.name, first + len(rows))
    return len(rows)


# --------------------------------------------------------------------------- base class

class Operation:
    safety = SAFE
    ddl = True          # False: metadata only (labels, layouts, formulas...)

    def describe(self) -> str:
        raise NotImplementedError

    def check(self, conn, ctx: Context) -> Impact:
        return Impact()

    def apply(self, ops, ctx: Context) -> None:
        pass

    def state_forwards(self, ctx: Context) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"


# --------------------------------------------------------------------------- objects

class CreateObject(Operation):
    def __init__(self, obj: ObjectDef):
        self.obj = obj

    def describe(self) -> str:
        return f"create object {self.obj.name} ({len(self.obj.stored_fields)} stored field{'s' if len(self.obj.stored_fields) != 1 else ''})"

    def apply(self, ops, ctx: Context) -> None:
        table = ctx.build_table(self.obj)

        def keep(target_table):
            target = _object_of(target_table)
            if not ctx.target_known(target):
                return False
            if ctx.sqlite or target == self.obj.name or ctx.exists(target):
                return True
            return False   # PostgreSQL: the target comes later in this plan (or a cycle)

        if not ctx.sqlite:
            for c in table.columns:
                for fk in c.foreign_keys:
                    target = _object_of(_fk_target(fk))
                    if ctx.target_known(target) and not keep(_fk_target(fk)):
                        ctx.pending_fks.append((table.name, c.name, target, fk.ondelete))
        ops.create_table(table.name, *_copy_table_items(table, keep))

    def state_forwards(self, ctx: Context) -> None:
        ctx.set_object(self.obj)


class DropObject(Operation):
    safety = DESTRUCTIVE

    def __init__(self, obj: ObjectDef):
        self.obj = obj

    def describe(self) -> str:
        return f"drop object {self.obj.name}"

    def check(self, conn, ctx: Context) -> Impact:
        rows = _count(conn, ctx.old_table(self.obj.name))
        return Impact(rows=rows, lost=rows, notes=[f"would delete {rows} record{'s' if rows != 1 else ''}"] if rows else [])

    def apply(self, ops, ctx: Context) -> None:
        name = self.obj.table_name
        if ctx.sqlite:   # a table left referring to this one (its lookup not dropped too) must be refused
            for other in ctx.state:
                if other != self.obj.name and any(_fk_target(fk) == name for fk in ctx.table(other).foreign_keys):
                    ctx.check_foreign_keys_of(ctx.table(other).name)
        else:
            # Incoming foreign keys (other tables dropped in this plan, `owner` → user) block DROP TABLE.
            for other, objdef in ctx.state.items():
                if other == self.obj.name:
                    continue
                table = ctx.table(other)
                for c in table.columns:
                    if any(_fk_target(fk) == name for fk in c.foreign_keys):
                        ops.drop_constraint(_fk_name(table.name, c.name), table.name, type_="foreignkey", if_exists=True)
        ops.drop_table(name)
        ctx.conn.execute(delete(autonumbers).where(autonumbers.c.object == self.obj.name))
        ctx.conn.execute(delete(field_history).where(field_history.c.object == self.obj.name))  # goes with the records

    def state_forwards(self, ctx: Context) -> None:
        ctx.set_object(None, self.obj.name)


# --------------------------------------------------------------------------- fields

class AddField(Operation):
    def __init__(self, obj: ObjectDef, field: FieldDef):
        self.obj_name, self.field = obj.name, field
        self.ddl = field.stored
        checked = field.stored and ((field.required and field.type != "autonumber")
                                    or (field.unique and field.default is not None))
        self.safety = DATA_CHECKED if checked else SAFE

    def describe(self) -> str:
        return f"add field {self.obj_name}.{self.field.name} ({self.field.type})"

    def _fill_value(self):
        return literal(self.field.default, self.field) if self.field.default is not None else None

    def _fill_expression(self) -> str | None:
        """What existing rows are filled from: a copy-on-select field's source path (each row
        gets the copy a new record with that lookup would get), else the default expression
        (when there is no literal default)."""
        f = self.field
        if f.options.get("copy_from"):
            return f.options["copy_from"]
        return f.default_expression if f.default is None else None

    def _computed_defaults(self, conn, ctx: Context, table: Table):
        """Existing rows' values under the field's default expression: (record id, value) pairs,
        computed in SQL from each row's stored fields (lookup paths as subqueries) and checked as a
        value of the field. None when the expression reads what existing rows cannot give (a
        formula, a roll-up, a field this change adds); (pairs, problems) otherwise."""
        f = self.field
        expression = self._fill_expression()
        if expression is None or f.type == "autonumber":
            return None
        obj = ctx.old_md.objects[self.obj_name]
        compiled = compile_expression(expression, resolver(ctx.new_md, ctx.new_md.objects[self.obj_name]),
                                      expected=expected_type(f))
        columns = {path: _stored_path(ctx, obj, table, path) for path in compiled.paths}
        if any(col is None for col in columns.values()):
            return None
        value = compiled.to_sql(lambda path: columns[tuple(path)], dialect_name=ctx.dialect, now=ctx.now)
        pairs, failures = [], {}
        for rid, raw in conn.execute(select(table.c.id, value).order_by(table.c.created_at, table.c.id)):
            try:
                pairs.append((rid, literal(_to_scale(raw, f), f)))
            except ConversionError as exc:
                what = "the copy source" if f.options.get("copy_from") else "the default expression"
                problem = failures.setdefault(exc.reason, Problem(f"{what} gives a value {exc.reason}", 0))
                problem.count += 1
                if len(problem.examples) < MAX_EXAMPLES:
                    problem.examples.append((str(rid), raw))
        return pairs, list(failures.values())

    def check(self, conn, ctx: Context) -> Impact:
        f = self.field
        if not f.stored:
            return Impact()
        table = ctx.old_table(self.obj_name)
        rows = _count(conn, table)
        impact = Impact(rows=rows)
        if not rows:
            return impact
        try:
            value = self._fill_value()
        except ConversionError as exc:
            impact.problems.append(Problem(f"the default {shown_value(f.default)} is {exc.reason}", rows))
            return impact
        computed = self._computed_defaults(conn, ctx, table)
        if computed is not None:
            pairs, impact.problems = computed
            filled = [(rid, v) for rid, v in pairs if v is not None]
            if filled:
                source = (f"copied from {f.options['copy_from']}" if f.options.get("copy_from")
                          else f"from the default expression {f.default_expression!r}")
                impact.notes.append(f"sets {len(filled)} existing row{'s' if len(filled) != 1 else ''} {source}")
            if f.required and len(filled) < rows:
                blank = [(str(rid), None) for rid, v in pairs if v is None]
                impact.problems.append(Problem("would be blank in a required field (the default expression gives "
                                               "no value for them)", len(blank), blank[:MAX_EXAMPLES]))
            if f.unique:
                seen: dict = {}
                for rid, v in filled:
                    seen.setdefault(v, []).append(rid)
                dups = [(str(rid), v) for v, ids in seen.items() if len(ids) > 1 for rid in ids]
                if dups:
                    impact.problems.append(Problem("would get the same value from the default expression in a "
                                                   "unique field", len(dups), dups[:MAX_EXAMPLES]))
            return impact
        if f.type == "autonumber":
            impact.notes.append(f"numbers {rows} existing row{'s' if rows != 1 else ''}")
        elif value is not None:
            impact.notes.append(f"sets {rows} existing row{'s' if rows != 1 else ''} to the default {shown_value(f.default)}")
            if f.unique and rows > 1:
                impact.problems.append(Problem(f"would all get the default {shown_value(f.default)} of a unique field", rows,
                                               _examples(conn, table, None, rows)))
        elif f.required:
            why = ("give the field a default" if not f.default_expression else
                   "its default expression reads a formula, a roll-up or a field added by this change: "
                   "give the field a default")
            impact.problems.append(Problem(f"would be blank in a required field ({why})", rows,
                                           _examples(conn, table, None, rows)))
        return impact

    def apply(self, ops, ctx: Context) -> None:
        f = self.field
        if not f.stored:
            return
        obj = ctx.state[self.obj_name]
        after = ctx.build_table(_replace_fields(obj, {**obj.fields, f.name: f}))
        if f.type == "geolocation":   # two columns and a CHECK constraint, left empty (no default)
            geo_ops.add_columns(ops, ctx, ctx.table(self.obj_name), after, f)
            return
        if f.type == "related_to":    # the object and id columns and their index, left empty
            related_ops.add_columns(ops, after.name, f)
            return
        col = after.c[f.name]
        target = f.target if f.is_relation and ctx.target_known(f.target) else None
        ondelete = ON_DELETE[f.options["on_delete"]] if f.is_relation else None
        if ctx.sqlite:
            # ADD COLUMN with a REFERENCES clause and a NULL default: no table rewrite.
            fks = [ForeignKey(f"obj_{target}.id", ondelete=ondelete)] if target else []
            ops.add_column(after.name, Column(f.name, col.type, *fks, nullable=True), inline_references=True)
        else:
            ops.add_column(after.name, Column(f.name, col.type, nullable=True))
            if target and ctx.exists(target):
                ops.create_foreign_key(_fk_name(after.name, f.name), after.name, f"obj_{target}", [f.name], ["id"],
                                       ondelete=ondelete)
            elif target:
                ctx.pending_fks.append((after.name, f.name, target, ondelete))
        value = self._fill_value()
        existed = ctx.old_md is not None and self.obj_name in ctx.old_md.objects
        computed = self._computed_defaults(ctx.conn, ctx, ctx.old_table(self.obj_name)) if existed else None
        if f.type == "autonumber":
            _fill_autonumbers(ctx.conn, after, self.obj_name, f)
        elif computed is not None:   # a copy source or a default expression (see _fill_expression)
            filled = [{"_rid": rid, "_value": v} for rid, v in computed[0] if v is not None]
            if filled:
                ctx.conn.execute(update(after).where(after.c.id == bindparam("_rid"))
                                 .values({f.name: bindparam("_value")}), filled)
                if target:
                    ctx.check_foreign_keys_of(after.name)
        elif value is not None:
            ctx.conn.execute(update(after).values({f.name: value}))
            if target:
                ctx.check_foreign_keys_of(after.name)
        for name, unique in _index_specs(after.name, f).items():
            ops.create_index(name, after.name, [f.name], unique=unique)

    def state_forwards(self, ctx: Context) -> None:
        obj = ctx.state[self.obj_name]
        ctx.set_object(_replace_fields(obj, {**obj.fields, self.field.name: self.field}))


class DropField(Operation):
    def __init__(self, obj: ObjectDef, field: FieldDef):
        self.obj_name, self.field = obj.name, field
        self.ddl = field.stored
        self.safety = DESTRUCTIVE if field.stored else SAFE

    def describe(self) -> str:
        return f"drop field {self.obj_name}.{self.field.name} ({self.field.type})"

    def check(self, conn, ctx: Context) -> Impact:
        if not self.field.stored:
            return Impact()
        table = ctx.old_table(self.obj_name)
        col = table.c[column_names(self.field.name)[0] if self.field.type == "geolocation" else self.field.name]
        rows = _count(conn, table)
        lost = _count(conn, table, col.isnot(None))
        notes = [f"would delete {lost} value{'s' if lost != 1 else ''} in {rows} row{'s' if rows != 1 else ''}"] if lost else []
        entries = _count(conn, field_history, field_history.c.object == self.obj_name,
                         field_history.c.field == self.field.name)
        if entries:
            notes.append(f"would delete {entries} field history entr{'ies' if entries != 1 else 'y'}")
        return Impact(rows=rows, lost=lost, notes=notes)

    def apply(self, ops, ctx: Context) -> None:
        f = self.field
        if not f.stored:
            return
        before = ctx.table(self.obj_name)
        if f.type == "geolocation":
            geo_ops.drop_columns(ops, ctx, before, f)
        elif f.type == "related_to":
            related_ops.drop_columns(ops, ctx, before.name, f)
        elif ctx.sqlite and f.is_relation:
            # SQLite cannot DROP COLUMN a foreign key column: rebuild the table (batch mode).
            ctx.check_foreign_keys_of(before.name)
            with ops.batch_alter_table(before.name, copy_from=before, recreate="always") as batch:
                for name in _index_specs(before.name, f):
                    batch.drop_index(name)
                batch.drop_column(f.name)
        elif ctx.sqlite:
            for name in _index_specs(before.name, f):
                ops.drop_index(name, table_name=before.name)
            ops.drop_column(before.name, f.name)
        else:
            ops.drop_column(before.name, f.name)   # PostgreSQL drops its indexes and FK with it
        if f.type == "autonumber":
            ctx.conn.execute(delete(autonumbers).where(
                and_(autonumbers.c.object == self.obj_name, autonumbers.c.field == f.name)))
        # the field's history goes with its values (a field added later under this name starts afresh)
        ctx.conn.execute(delete(field_history).where(
            and_(field_history.c.object == self.obj_name, field_history.c.field == f.name)))

    def state_forwards(self, ctx: Context) -> None:
        obj = ctx.state[self.obj_name]
        ctx.set_object(_replace_fields(obj, {n: x for n, x in obj.fields.items() if n != self.field.name}))


class RenameField(Operation):
    """`renamed_from`: the column is renamed, its data kept. Other changes follow as AlterField."""

    def __init__(self, obj_name: str, old: FieldDef, new_name: str):
        self.obj_name, self.old, self.new_name = obj_name, old, new_name
        self.ddl = old.stored

    def describe(self) -> str:
        return f"rename field {self.obj_name}.{self.old.name} → {self.new_name}"

    def apply(self, ops, ctx: Context) -> None:
        if not self.old.stored:
            return
        table = ctx.table(self.obj_name).name
        renamed = replace(self.old, name=self.new_name)
        if self.old.type == "related_to":
            related_ops.rename_columns(ops, table, self.old, self.new_name)
        elif self.old.type == "geolocation":
            geo_ops.rename_columns(ops, ctx, table, self.old, self.new_name)
        for name in _index_specs(table, self.old) if self.old.type != "related_to" else ():
            ops.drop_index(name, table_name=table)
        if not ctx.sqlite and self.old.is_relation:
            ops.drop_constraint(_fk_name(table, self.old.name), table, type_="foreignkey")
        if self.old.type not in ("geolocation", "related_to"):
            ops.alter_column(table, self.old.name, new_column_name=self.new_name)
        if not ctx.sqlite and self.old.is_relation and ctx.exists(self.old.target):
            ops.create_foreign_key(_fk_name(table, self.new_name), table, f"obj_{self.old.target}", [self.new_name], ["id"],
                                   ondelete=ON_DELETE[self.old.options["on_delete"]])
        for name, unique in _index_specs(table, renamed).items() if self.old.type != "related_to" else ():
            ops.create_index(name, table, [self.new_name], unique=unique)
        if self.old.type == "autonumber":
            ctx.conn.execute(update(autonumbers).where(
                and_(autonumbers.c.object == self.obj_name, autonumbers.c.field == self.old.name)).values(field=self.new_name))
        ctx.conn.execute(update(field_history).where(   # the history follows the field
            and_(field_history.c.object == self.obj_name, field_history.c.field == self.old.name)).values(field=self.new_name))

    def state_forwards(self, ctx: Context) -> None:
        obj = ctx.state[self.obj_name]
        fields = {(self.new_name if n == self.old.name else n): (replace(f, name=self.new_name) if n == self.old.name else f)
                  for n, f in obj.fields.items()}
        ctx.set_object(_replace_fields(obj, fields))


def _stored_path(ctx: Context, obj: ObjectDef, table, path: tuple):
    """The SQL for a field path of `obj`'s rows as the database holds them before the change: a
    stored column, or through lookups a scalar subquery; None when some step is not stored."""
    name = path[0]
    if name in SYSTEM_FIELDS or name in obj.fields:
        f = obj.fields.get(name)
        if (f is not None and not f.stored) or name not in table.c:
            return None
        if len(path) == 1:
            return table.c[name]
        target = f.target if f is not None and f.is_relation else ("user" if name in USER_LINKS else None)
        if target is None or target not in ctx.old_md.objects:
            return None
        linked = ctx.old_table(target).alias()
        inner = _stored_path(ctx, ctx.old_md.objects[target], linked, path[1:])
        return None if inner is None else select(inner).where(linked.c.id == table.c[name]).scalar_subquery()
    return None


def _to_scale(value, f: FieldDef):
    """A computed number rounded to a decimal field's scale, as the record service rounds input
    (SQLite computes in floating point: 0.1 * 3 is 0.30000000000000004)."""
    if kind(f) == "decimal" and isinstance(value, (float, Decimal)) and math.isfinite(value):
        return Decimal(repr(value) if isinstance(value, float) else value).quantize(
            Decimal(1).scaleb(-int(f.options.get("scale", 2))), rounding=ROUND_HALF_UP)
    return value


def _examples(conn, table, col, count, *where) -> list[tuple[str, Any]]:
    if not count:
        return []
    cols = [table.c.id] + ([col] if col is not None else [])
    rows = conn.execute(select(*cols).where(*where).order_by(table.c.created_at, table.c.id).limit(MAX_EXAMPLES))
    return [(str(r[0]), r[1] if col is not None else None) for r in rows]


# --------------------------------------------------------------------------- metadata only

class ChangeObject(Operation):
    """Object properties that need no DDL: labels, description, validation rules, field order..."""
    ddl = False

    def __init__(self, obj_name: str, keys: list[str]):
        self.obj_name, self.keys = obj_name, keys

    def describe(self) -> str:
        return f"change object {self.obj_name}: {', '.join(self.keys)}"


class ChangeField(Operation):
    """Field properties that need no DDL: label, help, defaults, formulas, roll-ups..."""
    ddl = False

    def __init__(self, obj_name: str, field_name: str, keys: list[str]):
        self.obj_name, self.field_name, self.keys = obj_name, field_name, keys

    def describe(self) -> str:
        return f"change field {self.obj_name}.{self.field_name}: {', '.join(self.keys)}"


class ComponentChange(Operation):
    """A layout, list view, app or security component added, changed or removed (no DDL)."""
    ddl = False

    def __init__(self, action: str, kind: str, name: str):
        self.action, self.kind, self.name = action, kind, name

    def describe(self) -> str:
        return f"{self.action} {self.kind.replace('_', ' ')} {self.name}"


class PackageChange(Operation):
    """A package installed, upgraded or removed (its components' steps follow separately)."""
    ddl = False

    def __init__(self, action: str, name: str, old_version: str | None, new_version: str | None):
        self.action, self.name, self.old_version, self.new_version = action, name, old_version, new_version

    def describe(self) -> str:
        if self.action == "upgrade":
            return f"upgrade package {self.name} {self.old_version} → {self.new_version}"
        if self.action == "remove":
            return f"remove package {self.name} {self.old_version}"
        return f"install package {self.name} {self.new_version}"


def add_pending_foreign_keys(ops, ctx: Context) -> None:
    """PostgreSQL: foreign keys to tables created later in the plan (or in a cycle), added last."""
    for table, column, target, ondelete in ctx.pending_fks:
        if ctx.exists(target) and _object_of(table) in ctx.state:
            ops.create_foreign_key(_fk_name(table, column), table, f"obj_{target}", [column], ["id"], ondelete=ondelete)
    ctx.pending_fks.clear()
