"""The audit log: logins, failed logins, permission, sharing and metadata changes."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import insert, select

from ..request_context import current_request_id
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import audit_log


def record(conn, actor, action: str, subject: str = "", detail: dict | None = None) -> None:
    """Write one entry on `conn` (inside the caller's transaction, so it commits with the change).
    Made while serving a request, the entry carries its id (`request_id` in the detail), which
    is also in the request's log line and error body."""
    detail = dict(detail or {})
    request_id = current_request_id.get()
    if request_id is not None:
        detail.setdefault("request_id", request_id)
    conn.execute(insert(audit_log).values(at=datetime.now(timezone.utc),
                                          actor=getattr(actor, "user_id", None),
                                          action=action, subject=subject[:200], detail=detail))


def record_now(engine, actor, action: str, subject: str = "", detail: dict | None = None) -> None:
    with begin_write(engine) as conn:
        record(conn, actor, action, subject, detail)


def entries(engine, *, limit: int = 100, before_id: int | None = None, action: str | None = None) -> list[dict]:
    stmt = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(audit_log.c.id < before_id)
    if action:
        stmt = stmt.where(audit_log.c.action == action)
    with begin_read(engine) as conn:
        rows = conn.execute(stmt).mappings().all()
    out = []
    for r in rows:
        at = r["at"] if r["at"].tzinfo else r["at"].replace(tzinfo=timezone.utc)
        out.append({"id": r["id"], "at": at.isoformat().replace("+00:00", "Z"),
                    "actor": str(r["actor"]) if r["actor"] else None, "action": r["action"],
                    "subject": r["subject"], "detail": r["detail"]})
    return out
