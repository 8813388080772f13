"""Field history (Salesforce's "field history tracking"): who changed which tracked field, when,
from what to what.

The record service writes it inside the write's transaction (a rolled-back write leaves no
history) and reads it back through `RecordService.history`, which checks that the reader can see
the record and leaves out fields they cannot read. Which fields are tracked is metadata
(`ObjectDef.history_fields`, compiled into `CompiledObject.history_types`).

A record's creation is not stored as an entry: the record's own created_at / created_by say it
(no extra row per record on bulk import). History goes with its record, as in Salesforce: deleting
a record deletes its history and that of the children the database deletes with it.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import and_, delete, insert, or_, select

from ..storage.platform_tables import field_history
from .serialize import to_api

# Cascades are followed through nested subqueries; a self-referencing cascade (company.parent) is
# followed this many levels deep.
MAX_CASCADE_DEPTH = 8


def _comparable(value):
    # SQLite hands back naive datetimes for what was stored as UTC; written values are aware
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def record_changes(conn, cobj, current: dict, changes: dict, actor, now) -> None:
    """Write one entry per tracked field in `changes` whose value differs from `current` (the
    row before the update). Values are stored in their API representation (JSON)."""
    if not cobj.history_types:
        return
    rows = []
    # in reverse metadata order: newest first (id descending) then lists one save's fields in order
    for name, field_type in reversed(cobj.history_types.items()):
        if name not in changes:
            continue
        old, new = current.get(name), changes[name]
        if _comparable(old) == _comparable(new):
            continue
        if getattr(cobj.obj.fields.get(name), "encrypted", False):
            # who changed it and when, not the values: this table is outside the object tables
            # that key rotation re-encrypts, and plaintext here would undo the encryption
            old = new = None
        rows.append({"object": cobj.name, "record_id": current["id"], "field": name,
                     "old_value": to_api(old, field_type), "new_value": to_api(new, field_type),
                     "changed_by": actor.user_id, "changed_at": now})
    if rows:
        conn.execute(insert(field_history), rows)


def delete_for_records(conn, rt, cobj, ids, depth: int = 0) -> None:
    """Delete the history of the records `ids` (a list, or a SELECT of ids) of `cobj` and of the
    records an on_delete cascade will delete with them. Runs before the records' DELETE: the
    children are found through their foreign keys."""
    h = field_history
    conn.execute(delete(h).where(h.c.object == cobj.name, h.c.record_id.in_(ids)))
    if depth >= MAX_CASCADE_DEPTH:
        return
    for child_name, field in cobj.cascaded_by:
        child = rt.objects[child_name]
        t = child.table.alias()   # an alias per level: a self-reference must not correlate
        delete_for_records(conn, rt, child, select(t.c.id).where(t.c[field].in_(ids)), depth + 1)


def page(conn, object_name: str, record_id, fields: list[str], limit: int,
         after: tuple | None) -> tuple[list[dict], tuple | None]:
    """Entries of one record for `fields`, newest first (changed_at, then id, both descending),
    after the keyset position `after` = (changed_at, id). Returns the entries and the position
    of the last one when more follow."""
    h = field_history
    stmt = select(h.c.id, h.c.field, h.c.old_value, h.c.new_value, h.c.changed_by, h.c.changed_at).where(
        h.c.object == object_name, h.c.record_id == record_id, h.c.field.in_(fields))
    if after is not None:
        at, last_id = after
        stmt = stmt.where(or_(h.c.changed_at < at, and_(h.c.changed_at == at, h.c.id < last_id)))
    rows = conn.execute(stmt.order_by(h.c.changed_at.desc(), h.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    entries = [{"id": r.id, "field": r.field, "old_value": r.old_value, "new_value": r.new_value,
                "changed_by": to_api(r.changed_by), "changed_at": to_api(r.changed_at)} for r in rows]
    return entries, ((rows[-1].changed_at, rows[-1].id) if more and rows else None)

