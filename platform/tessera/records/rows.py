"""Child records edited as rows of their parent (Frappe's Table fields, Salesforce's line items).

A parent object declares a rows field (`line_items: {type: rows, object: quote_line_item}`); the
child object has a master_detail field to it (the row link) and a `position` column, kept 1..n per
parent (storage/tables.py, changes/rows_steps.py). The record service then:

- reads: `get` of the parent returns `line_items: [{id, position, ...}]` in position order — only
  children the viewer may see, only fields the viewer may read (the child's own sharing predicate,
  which for controlled_by_parent children is the parent's);
- writes: `create` and `update` of the parent take the rows nested. An update with `line_items`
  REPLACES the set in the parent's transaction: rows with an id are updated, rows without one are
  created, visible rows left out are deleted, and the list order is the new order. Every row goes
  through the record service's own create / update / delete (validation, workflows, field rights,
  history), joined to the parent's write, and the parent's own update runs last — its validation
  rules see the new roll-ups. Per-row errors come back together as one 422 whose fields are paths
  (`line_items[3].quantity`), and nothing is written. The parent's row version covers the edit:
  it is checked first (412 when stale) and bumped by every edit of the rows;
- keeps positions: a child created on its own (API, CSV import) is appended after its siblings,
  a deleted one closes the gap, one moved to another parent is appended there;
- checks exactly one parent: a child object with several master_detail fields (a child of one of
  several parents) has exactly one of them set per record (and a CHECK constraint in storage).
"""
from __future__ import annotations

from sqlalchemy import bindparam, func, select, update

from ..expr.to_sql import NOW_PARAMETER
from ..meta.fieldtypes import SYSTEM_FIELDS
from ..meta.model import ObjectDef, RowsDef
from ..storage.tables import POSITION
from .coerce import parse_id
from .errors import RecordError, ValidationFailed

MAX_ROWS = 1000


def named_in(obj: ObjectDef, data) -> bool:
    return isinstance(data, dict) and bool(obj.rows) and any(name in data for name in obj.rows)


def split(obj: ObjectDef, data: dict) -> tuple[dict, dict]:
    """(the parent's own fields, {rows field: its list})."""
    return ({k: v for k, v in data.items() if k not in obj.rows},
            {k: v for k, v in data.items() if k in obj.rows})


def shape_errors(obj: ObjectDef, rows_in: dict) -> dict[str, list[str]]:
    """What is wrong with the rows before any of them is looked at: a list of objects, within the limit."""
    errors: dict[str, list[str]] = {}
    for name, items in rows_in.items():
        rd = obj.rows[name]
        if not isinstance(items, list):
            errors[name] = ["expected a list of rows (objects of field values)"]
            continue
        limit = min(rd.max_rows, MAX_ROWS)
        if len(items) > limit:
            errors[name] = [f"at most {limit} rows ({len(items)} given)"]
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                errors[f"{name}[{i}]"] = ["expected an object of field values"]
    return errors


def one_parent_errors(obj: ObjectDef, merged: dict, errors: dict) -> None:
    """A child of one of several parents: exactly one master_detail field set (named in the error)."""
    names = obj.one_parent
    if not names:
        return
    given = [n for n in names if merged.get(n) is not None]
    if len(given) == 1:
        return
    message = (f"exactly one of {', '.join(names)} must be set (each {obj.name} belongs to one parent)"
               + (f"; {' and '.join(given)} are" if given else ""))
    for n in names:
        if n not in errors:
            errors[n] = [message]


def link_of(obj: ObjectDef, values: dict) -> tuple[str, object] | None:
    """(row link, parent id) of a child row: the first row link that is set."""
    for link in obj.row_links:
        if values.get(link) is not None:
            return link, values[link]
    return None


def next_position(conn, table, link: str, parent_id) -> int:
    top = conn.execute(select(func.max(table.c[POSITION])).where(table.c[link] == parent_id)).scalar()
    return (top or 0) + 1


def append_positions(conn, cobj, rows: list[dict]) -> None:
    """Positions for new child rows (created on their own): after their siblings, in the given order."""
    nexts: dict = {}
    for values in rows:
        linked = link_of(cobj.obj, values)
        if linked is None:
            continue
        if linked not in nexts:
            nexts[linked] = next_position(conn, cobj.table, *linked)
        values[POSITION] = nexts[linked]
        nexts[linked] += 1


def append_positions_bulk(conn, cobj, batch, missing) -> None:
    """append_positions for a bulk create's columns (one query per parent)."""
    obj, n = cobj.obj, batch.n
    columns = {link: batch.columns.get(link) or [None] * n for link in obj.row_links}
    rows = [{link: (None if columns[link][i] is missing else columns[link][i]) for link in obj.row_links}
            for i in range(n)]
    append_positions(conn, cobj, rows)
    batch.columns[POSITION] = [row.get(POSITION) for row in rows]


def close_gap(conn, cobj, row: dict) -> None:
    """After a child leaves its parent (deleted or moved): the siblings after it move up one."""
    linked = link_of(cobj.obj, row)
    if linked is None or row.get(POSITION) is None:
        return
    t = cobj.table
    conn.execute(update(t).where(t.c[linked[0]] == linked[1], t.c[POSITION] > row[POSITION])
                 .values({POSITION: t.c[POSITION] - 1}))


def renumber(conn, table, ordered_ids: list) -> None:
    """Positions 1..n in the given order (only rows whose position changes are written)."""
    if not ordered_ids:
        return
    current = dict(conn.execute(select(table.c.id, table.c[POSITION]).where(table.c.id.in_(ordered_ids))).all())
    changed = [{"_rid": rid, "_pos": i} for i, rid in enumerate(ordered_ids, 1) if current.get(rid) != i]
    if changed:
        conn.execute(update(table).where(table.c.id == bindparam("_rid")).values({POSITION: bindparam("_pos")}),
                     changed)


class RecordRows:
    """The record service's part for rows fields (a mixin of RecordService: it uses create, update,
    delete, _builder, _default_paths, _columns and _read of it)."""

    def _children(self, conn, rt, access, rd: RowsDef, parent_id, *, visible_only=True):
        """[(id, position)] of a parent's rows in order; with visible_only, only those `access` sees."""
        child = rt.objects[rd.object]
        t = child.table
        where = [t.c[rd.relationship] == parent_id]
        if visible_only:
            visible = access.visible(child.name, t, conn.dialect.name)
            if visible is not None:
                where.append(visible)
        return conn.execute(select(t.c.id, t.c[POSITION]).where(*where)
                            .order_by(t.c[POSITION], t.c.created_at, t.c.id)).all()

    def _read_rows(self, conn, rt, actor, cobj, parent_id) -> dict:
        """{rows field: [row, ...]} for the rows fields whose child object the actor may read."""
        from ..encryption.masking import mask_records
        from .reads import _now
        from .serialize import to_api
        access = rt.security.access_for(actor)
        out = {}
        for rd in cobj.obj.rows.values():
            if rd.relationship is None or not access.can(rd.object, "read"):
                continue
            paths = tuple(p for p in self._default_paths(access, rt.objects[rd.object])   # the row's own fields
                          if p not in SYSTEM_FIELDS and p != rd.relationship)
            now = _now()
            stmt, types, base = self._rows_select(rt, rd, paths, conn, now, access)
            visible = access.visible(rd.object, base, conn.dialect.name)
            if visible is not None:
                stmt = stmt.where(visible)
            out[rd.name] = [{"id": to_api(row[0], "id"), POSITION: row[1],
                             **{p: to_api(row[2 + i], t) for i, (p, t) in enumerate(zip(paths, types))}}
                            for row in conn.execute(stmt, {"_parent": parent_id, NOW_PARAMETER: now})]
            mask_records(rt.metadata, rt.objects[rd.object].obj, access, out[rd.name], paths)
        return out

    def _rows_select(self, rt, rd, paths: tuple, conn, now, access):
        """(SELECT a parent's rows ... WHERE <link> = :_parent, the paths' types, the base alias),
        built once a day (see reads.kept_statement)."""
        from .reads import kept_statement

        def build():
            b = self._builder(rt, rd.object, conn, now, access)
            cols = self._columns(b, list(paths), "fields")
            base = b.base
            stmt = (select(base.c.id, base.c[POSITION], *[c.label(f"c{i}") for i, c in enumerate(cols)])
                    .select_from(b.from_clause).where(base.c[rd.relationship] == bindparam("_parent"))
                    .order_by(base.c[POSITION], base.c.created_at, base.c.id).limit(MAX_ROWS + 1))
            return (stmt, [b.field_type(tuple(p.split("."))) for p in paths], base), b.from_clause is not base
        return kept_statement(rt, ("rows", rd.object, rd.relationship, paths, now.date()), access, build)

    def _replace_rows(self, conn, rt, actor, cobj, parent_id, rows_in: dict, from_text: bool) -> dict:
        """Replace each rows field's set (see the module docstring); returns per-row errors by path.
        Refusals other than validation (403, 404, 409) are raised at once, their fields prefixed."""
        errors: dict[str, list[str]] = {}
        access = rt.security.access_for(actor)
        for name, items in rows_in.items():
            rd = cobj.obj.rows[name]
            child, link = rt.objects[rd.object], rd.relationship
            visible = [rid for rid, _pos in self._children(conn, rt, access, rd, parent_id)]
            known = set(visible)
            hidden = [rid for rid, _pos in self._children(conn, rt, access, rd, parent_id, visible_only=False)
                      if rid not in known]
            plan, kept = [], set()
            for i, item in enumerate(items):
                at = f"{name}[{i}]"
                item = {k: v for k, v in item.items() if k not in ("id", POSITION)}
                rid = None
                if "id" in items[i] and items[i]["id"] is not None:
                    try:
                        rid = parse_id(items[i]["id"])
                    except (ValueError, TypeError):
                        rid = None
                    if rid not in known:
                        errors[f"{at}.id"] = [f"is not a row of this {cobj.name}'s {name}"]
                        continue
                    if rid in kept:
                        errors[f"{at}.id"] = ["appears twice"]
                        continue
                    kept.add(rid)
                if link in item:
                    if item[link] is not None and str(item[link]) == str(parent_id):
                        item.pop(link)
                    else:
                        errors[f"{at}.{link}"] = [f"is set by the parent: a row belongs to the {cobj.name} it is "
                                                  "written with"]
                        continue
                plan.append((i, rid, item))
            if errors:
                continue
            for rid in visible:
                if rid not in kept:
                    self._row_call(name, None, lambda rid=rid: self.delete(actor, child.name, rid))
            order = []
            for i, rid, item in plan:
                at = f"{name}[{i}]"
                try:
                    if rid is None:
                        record = self._row_call(name, i, lambda item=item: self.create(
                            actor, child.name, {**item, link: str(parent_id)}, from_text=from_text))
                        order.append(parse_id(record["id"]))
                    else:
                        if item:
                            self._row_call(name, i, lambda rid=rid, item=item: self.update(
                                actor, child.name, rid, item, from_text=from_text))
                        order.append(rid)
                except ValidationFailed as exc:
                    for field, messages in (exc.fields or {"_record": [exc.message]}).items():
                        errors[f"{at}.{field}"] = list(messages)
            if not errors:
                renumber(conn, child.table, order + hidden)
        return errors

    @staticmethod
    def _row_call(name, index, call):
        """Run one row's write; a refusal other than a validation failure names the row and stops."""
        try:
            return call()
        except ValidationFailed:
            raise
        except RecordError as exc:
            where = name if index is None else f"{name}[{index}]"
            exc.fields = {f"{where}.{k}": v for k, v in exc.fields.items()} or {where: [exc.message]}
            exc.message = f"{where}: {exc.message}"
            raise

    # -- the parent's writes with rows (called by RecordService.create / update) ----------------
    def _create_with_rows(self, actor, object_name, data, from_text, allow_duplicates=False):
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        data, rows_in = split(cobj.obj, data)
        errors = shape_errors(cobj.obj, rows_in)
        if errors:
            raise ValidationFailed(summary(errors), fields=errors)
        with self._write() as conn, self.on_connection(conn):
            record = self.create(actor, object_name, data, from_text=from_text, allow_duplicates=allow_duplicates)
            warnings = record.get("_warnings")
            errors = self._replace_rows(conn, rt, actor, cobj, parse_id(record["id"]), rows_in, from_text)
            if errors:
                raise ValidationFailed(summary(errors), fields=errors)
            out = self.get(actor, object_name, record["id"])
            return {**out, "_warnings": warnings} if warnings else out

    def _update_with_rows(self, actor, object_name, record_id, data, expected_version, from_text,
                          allow_duplicates=False):
        from .errors import StaleVersion
        rt = self.runtime()
        cobj = self._object(rt, object_name)
        access = self._access(rt, actor, object_name, "edit")
        rid = self._parse_record_id(record_id)
        data, rows_in = split(cobj.obj, data)
        errors = shape_errors(cobj.obj, rows_in)
        if errors:
            raise ValidationFailed(summary(errors), fields=errors)
        with self._write() as conn, self.on_connection(conn):
            # the parent first, locked: 404 / 403 / 412 before any row is touched
            current = self._current_for_write(conn, access, cobj, rid, record_id)
            if expected_version is not None and current["row_version"] != expected_version:
                raise StaleVersion(f"{object_name} '{record_id}' was changed by someone else "
                                   f"(version {current['row_version']}, you had {expected_version})")
            errors = self._replace_rows(conn, rt, actor, cobj, rid, rows_in, from_text)
            warnings = None
            try:   # last: the parent's rules see the new rows (roll-ups); its version moves on
                warnings = self.update(actor, object_name, rid, data, expected_version=expected_version,
                                       from_text=from_text, allow_duplicates=allow_duplicates).get("_warnings")
            except ValidationFailed as exc:
                if not errors:
                    raise
                errors = {**exc.fields, **errors}
            if errors:
                raise ValidationFailed(summary(errors), fields=errors)
            out = self.get(actor, object_name, rid)
            return {**out, "_warnings": warnings} if warnings else out


def summary(errors: dict[str, list[str]]) -> str:
    return "invalid input: " + ", ".join(f"{name}: {'; '.join(msgs)}" for name, msgs in errors.items())
