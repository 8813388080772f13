"""The approval tables (storage/platform_tables.py): requests and their history rows, written and
read on a connection the caller holds (the submission's or decision's transaction), and shaped as
the API shows them.

A request: status pending → approved | rejected | recalled, the current step's index while
pending, whether it locks its record, the metadata version it was submitted under.
A history row (tessera_approval_item): `submitted` and `recalled` (who, with their comment),
`skipped` (a step whose condition did not hold, or with nobody to approve and when_no_approver:
skip), and one work item per approver per step — `pending` until they answer, then `approved` or
`rejected`; `closed` when another answer decided the step or the request ended first.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import and_, exists, func, insert, or_, select, update

from ..records.ids import new_id
from ..storage.platform_tables import approval_items as items, approval_requests as requests

STATUSES = ("pending", "approved", "rejected", "recalled")
ITEM_STATUSES = ("submitted", "pending", "approved", "rejected", "closed", "skipped", "recalled")
MAX_COMMENT = 4000


def now() -> datetime:
    return datetime.now(timezone.utc)


# -- writing ------------------------------------------------------------------------------------
def insert_request(conn, *, process: str, object_name: str, record_id, submitter, locked: bool, version,
                   comment: str, at: datetime) -> uuid.UUID:
    request_id = new_id()
    conn.execute(insert(requests).values(id=request_id, process=process, object=object_name, record_id=record_id,
                                         status="pending", submitter=submitter, step=None, locked=locked,
                                         version=version, comment=comment, submitted_at=at, completed_at=None))
    return request_id


def add_item(conn, request_id, status: str, *, at: datetime, step=None, step_label=None, user_id=None,
             comment: str = "", acted_by=None, acted=False) -> None:
    conn.execute(insert(items).values(request_id=request_id, step=step, step_label=step_label, user_id=user_id,
                                      status=status, comment=comment, acted_by=acted_by, created_at=at,
                                      acted_at=at if acted else None))


def add_work_items(conn, request_id, step: int, step_label: str, approvers, at: datetime) -> None:
    conn.execute(insert(items), [{"request_id": request_id, "step": step, "step_label": step_label, "user_id": user,
                                  "status": "pending", "comment": "", "acted_by": None, "created_at": at,
                                  "acted_at": None} for user in approvers])


def set_step(conn, request_id, step: int | None) -> None:
    conn.execute(update(requests).where(requests.c.id == request_id).values(step=step))


def finish(conn, request_id, status: str, at: datetime) -> None:
    conn.execute(update(requests).where(requests.c.id == request_id)
                 .values(status=status, step=None, completed_at=at))


def decide_items(conn, item_ids, status: str, *, comment: str, acted_by, at: datetime) -> None:
    if item_ids:
        conn.execute(update(items).where(items.c.id.in_(list(item_ids)))
                     .values(status=status, comment=comment, acted_by=acted_by, acted_at=at))


def close_pending(conn, request_id, at: datetime) -> list[uuid.UUID]:
    """Close the request's open work items; returns their approvers."""
    open_items = conn.execute(select(items.c.id, items.c.user_id)
                              .where(items.c.request_id == request_id, items.c.status == "pending")).all()
    if open_items:
        conn.execute(update(items).where(items.c.id.in_([i.id for i in open_items]))
                     .values(status="closed", acted_at=at))
    return [i.user_id for i in open_items]


# -- reading ------------------------------------------------------------------------------------
def request_row(conn, request_id, *, for_update: bool = False):
    stmt = select(requests).where(requests.c.id == request_id)
    return conn.execute(stmt.with_for_update() if for_update else stmt).first()


def pending_for_record(conn, object_name: str, record_id):
    return conn.execute(select(requests).where(requests.c.object == object_name, requests.c.record_id == record_id,
                                               requests.c.status == "pending")).first()


def pending_items(conn, request_id, step: int | None = None):
    stmt = select(items).where(items.c.request_id == request_id, items.c.status == "pending")
    if step is not None:
        stmt = stmt.where(items.c.step == step)
    return conn.execute(stmt.order_by(items.c.id)).all()


def is_pending_approver(conn, request_id, user_id) -> bool:
    if user_id is None:
        return False
    return conn.execute(select(items.c.id).where(items.c.request_id == request_id, items.c.user_id == user_id,
                                                 items.c.status == "pending").limit(1)).first() is not None


def took_part(conn, request_id, user_id) -> bool:
    """The user has a history row on the request (an approver of some step, the submitter)."""
    return user_id is not None and conn.execute(
        select(items.c.id).where(items.c.request_id == request_id, items.c.user_id == user_id).limit(1)).first() is not None


def history(conn, request_ids) -> dict:
    out: dict = {rid: [] for rid in request_ids}
    if request_ids:
        for row in conn.execute(select(items).where(items.c.request_id.in_(list(request_ids))).order_by(items.c.id)):
            out[row.request_id].append(item_as_api(row))
    return out


def find(conn, *, object_name=None, record_id=None, status=None, submitter_or_approver=None,
         pending_for=None, limit: int = 50):
    """Requests newest first. `submitter_or_approver`: only those the user submitted or has a
    history row on; `pending_for`: only pending requests waiting for that user's answer."""
    r = requests
    stmt = select(r).order_by(r.c.submitted_at.desc(), r.c.id.desc()).limit(limit)
    if object_name is not None:
        stmt = stmt.where(r.c.object == object_name)
    if record_id is not None:
        stmt = stmt.where(r.c.record_id == record_id)
    if status is not None:
        stmt = stmt.where(r.c.status == status)
    if submitter_or_approver is not None:
        stmt = stmt.where(or_(r.c.submitter == submitter_or_approver, exists().where(
            and_(items.c.request_id == r.c.id, items.c.user_id == submitter_or_approver))))
    if pending_for is not None:
        stmt = stmt.where(r.c.status == "pending", exists().where(and_(
            items.c.request_id == r.c.id, items.c.user_id == pending_for, items.c.status == "pending")))
    return conn.execute(stmt).all()


def waiting_count(conn, user_id) -> int:
    """Pending requests waiting for the user's answer (a pending work item is one of a pending
    request: items are closed when their request ends)."""
    return conn.execute(select(func.count(func.distinct(items.c.request_id)))
                        .where(items.c.user_id == user_id, items.c.status == "pending")).scalar_one()


# -- the API's shapes ---------------------------------------------------------------------------
def _iso(value):
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat().replace("+00:00", "Z")


def _id(value):
    return str(value) if value is not None else None


def item_as_api(row) -> dict:
    return {"step": row.step + 1 if row.step is not None else None, "step_label": row.step_label,
            "user": _id(row.user_id), "status": row.status, "comment": row.comment or "",
            "acted_by": _id(row.acted_by), "created_at": _iso(row.created_at), "acted_at": _iso(row.acted_at)}


def request_as_api(row, *, process=None, approvers=(), record_name=None, history_rows=None) -> dict:
    """`process`: the compiled Process (labels), when the metadata still has it."""
    step = process.step(row.step) if process is not None else None
    out = {"id": str(row.id), "process": row.process, "process_label": process.label if process else row.process,
           "object": row.object, "record_id": str(row.record_id), "record_name": record_name, "status": row.status,
           "submitter": str(row.submitter), "step": row.step + 1 if row.step is not None else None,
           "step_label": step.label if step is not None else None, "approvers": [str(a) for a in approvers],
           "locked": bool(row.locked) and row.status == "pending", "version": row.version, "comment": row.comment or "",
           "submitted_at": _iso(row.submitted_at), "completed_at": _iso(row.completed_at)}
    if history_rows is not None:
        out["history"] = history_rows
    return out
