"""In-app notifications: a per-user inbox (`tessera_notification`) behind the bell in /app and
`/api/v1/notifications`. Written in the transaction of the change they announce (a workflow's
`notify` step, an assignment), so nobody is told about something that was rolled back.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import and_, func, insert, select, update

from ..records.ids import new_id
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import notifications
from ..records.serialize import to_api   # datetimes as ISO 8601 UTC, like every API value

MAX_TITLE = 255
MAX_BODY = 4000


def _now() -> datetime:
    return datetime.now(timezone.utc)


def notify(conn, user_ids, title: str, body: str = "", *, object_name: str | None = None, record_id=None,
           source: str = "") -> int:
    """One notification per distinct recipient; returns how many were written."""
    recipients = list(dict.fromkeys(u for u in user_ids if u is not None))
    if not recipients:
        return 0
    now = _now()
    conn.execute(insert(notifications), [
        {"id": new_id(), "user_id": user_id, "title": (title or "")[:MAX_TITLE] or "Notification",
         "body": (body or "")[:MAX_BODY], "object": object_name, "record_id": record_id, "source": source[:120],
         "created_at": now, "read_at": None} for user_id in recipients])
    return len(recipients)


def unread_count(engine, user_id: uuid.UUID) -> int:
    t = notifications
    with begin_read(engine) as conn:
        return conn.execute(select(func.count()).select_from(t)
                            .where(t.c.user_id == user_id, t.c.read_at.is_(None))).scalar_one()



def inbox(engine, user_id: uuid.UUID, *, unread_only: bool = False, limit: int = 50) -> list[dict]:
    t = notifications
    stmt = select(t).where(t.c.user_id == user_id).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)
    if unread_only:
        stmt = stmt.where(t.c.read_at.is_(None))
    with begin_read(engine) as conn:
        return [{"id": str(r.id), "title": r.title, "body": r.body, "object": r.object,
                 "record_id": str(r.record_id) if r.record_id else None, "source": r.source,
                 "created_at": to_api(r.created_at), "read": r.read_at is not None, "read_at": to_api(r.read_at)}
                for r in conn.execute(stmt)]


def mark_read(engine, user_id: uuid.UUID, ids: list[uuid.UUID] | None = None) -> int:
    """Mark the user's notifications read (all of them when `ids` is None); others' are untouched."""
    t = notifications
    condition = and_(t.c.user_id == user_id, t.c.read_at.is_(None))
    if ids is not None:
        if not ids:
            return 0
        condition = and_(condition, t.c.id.in_(ids))
    with begin_write(engine) as conn:
        return conn.execute(update(t).where(condition).values(read_at=_now())).rowcount
