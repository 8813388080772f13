"""The timeline's sources: each gives one kind of entry for a record, newest first, from a
position, as the viewer may see it.

A position is small JSON: for the record service's paged reads, [its cursor, rows to skip]; for a
plain list, the offset. The timeline merges the sources' pages and then tells each one how many of
its entries it used (`advance`), so every page is a prefix of each source's stream — the merge is
exact whatever ties the dates have.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from ..records.errors import Forbidden
from ..records.reads import MAX_LIMIT
from ..storage.engine import begin_read
from ..storage.platform_tables import email_outbox

SKIP_LIMIT = 400   # past this many skipped rows, a source moves its cursor forward instead


def parse_at(text) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else text
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


class RecordSource:
    """Records of `object_name` related to the record, through the record service's query."""

    def __init__(self, kind, object_name, condition, date_field, fields, entry):
        self.kind, self.object_name, self.condition = kind, object_name, condition
        self.date_field, self.fields, self.entry = date_field, fields, entry

    def _query(self, ctx, cursor, limit):
        rid, parent = ctx.record_id, ctx.object_name
        text = f"related_to == '{rid}' and related_to.object == '{parent}'"
        if self.condition:
            text += f" and ({self.condition})"
        return ctx.records.query(ctx.actor, self.object_name, filter=text, sort=[f"-{self.date_field}"],
                                 fields=["id", self.date_field, *self.fields], limit=limit, cursor=cursor)

    def available(self, ctx) -> bool:
        access = ctx.access
        return self.object_name in ctx.runtime.objects and access.can(self.object_name, "read") and all(
            access.can_read_field(self.object_name, f) for f in ("related_to", self.date_field))

    def page(self, ctx, position, n):
        cursor, skip = position or (None, 0)
        result = self._query(ctx, cursor, min(skip + n, MAX_LIMIT))
        rows = result.records[skip:skip + n]
        self._fetched = (len(result.records), result.next_cursor)
        return [self.entry(self.kind, row, parse_at(row[self.date_field])) for row in rows
                if row.get(self.date_field) is not None]

    def advance(self, ctx, position, used):
        cursor, skip = position or (None, 0)
        fetched, next_cursor = self._fetched
        if skip + used == fetched and next_cursor is not None:
            return [next_cursor, 0]
        if skip + used > SKIP_LIMIT:
            jumped = self._query(ctx, cursor, skip + used)
            return [jumped.next_cursor, 0]
        return [cursor, skip + used]


class HistorySource:
    kind = "change"

    def available(self, ctx) -> bool:
        return True

    def page(self, ctx, position, n):
        cursor, skip = position or (None, 0)
        result = ctx.records.history(ctx.actor, ctx.object_name, ctx.record_id, limit=min(skip + n, MAX_LIMIT),
                                     cursor=cursor)
        self._fetched = (len(result.records), result.next_cursor)
        fields = ctx.runtime.objects[ctx.object_name].obj.fields
        out = []
        for e in result.records[skip:skip + n]:
            f = fields.get(e["field"])
            out.append({"kind": "change", "id": str(e["id"]), "at": parse_at(e["changed_at"]),
                        "title": f"{f.label if f else e['field'].title()} changed",
                        "field": e["field"], "old_value": e["old_value"], "new_value": e["new_value"],
                        "by": e["changed_by"]})
        return out

    advance = RecordSource.advance

    def _query(self, ctx, cursor, limit):
        return ctx.records.history(ctx.actor, ctx.object_name, ctx.record_id, limit=limit, cursor=cursor)


class FileSource:
    """The record's attachments (the file service lists them newest first, access as the record's)."""
    kind = "file"

    def available(self, ctx) -> bool:
        cobj = ctx.runtime.objects[ctx.object_name]
        return ctx.files is not None and cobj.obj.attachments

    def page(self, ctx, position, n):
        offset = position or 0
        try:
            files = ctx.files.attachments(ctx.actor, ctx.object_name, ctx.record_id)
        except Forbidden:
            return []
        return [{"kind": "file", "id": f["id"], "at": parse_at(f["created_at"]), "title": f["name"],
                 "content_type": f.get("content_type"), "size": f.get("size"),
                 "url": f"/api/v1/files/{f['id']}/content"} for f in files[offset:offset + n]]

    def advance(self, ctx, position, used):
        return (position or 0) + used


class EmailSource:
    """Emails the automation outbox sent (or queued) about the record: the outbox keeps the object
    and record id of the write that sent them. Whoever may read the record may see them."""
    kind = "email"

    def available(self, ctx) -> bool:
        return True

    def page(self, ctx, position, n):
        offset = position or 0
        o = email_outbox
        with begin_read(ctx.records.engine) as conn:
            rows = conn.execute(select(o.c.id, o.c.subject, o.c.to, o.c.status, o.c.created_at, o.c.sent_at)
                                .where(o.c.object == ctx.object_name, o.c.record_id == ctx.record_uuid)
                                .order_by(o.c.created_at.desc(), o.c.id.desc()).offset(offset).limit(n)).all()
        return [{"kind": "email", "id": str(r.id), "at": parse_at(r.created_at), "title": r.subject,
                 "to": list(r.to or []), "status": r.status} for r in rows]

    def advance(self, ctx, position, used):
        return (position or 0) + used
