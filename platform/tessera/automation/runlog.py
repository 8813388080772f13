"""The workflow run log (`tessera_workflow_run`): what ran, under which metadata version, step by
step. A run that succeeded is written in the transaction of the write that triggered it (it exists
exactly when its effects do); a failed run rolled that write back, so it is written afterwards in
a transaction of its own (`record_failures`). A run paused by a wait is `waiting` until its resume
time, then `succeeded`, `failed` or `cancelled` (waits.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone

from sqlalchemy import insert, select

from ..records.ids import new_id
from ..records.serialize import to_api   # datetimes as ISO 8601 UTC, like every API value
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import workflow_runs

MAX_ERROR = 2000
STATUSES = ("succeeded", "failed", "waiting", "cancelled")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Run:
    workflow: str
    object: str
    record_id: uuid.UUID | None
    event: str
    timing: str
    version: int | None
    actor: uuid.UUID | None
    depth: int
    id: uuid.UUID = dc_field(default_factory=new_id)
    started_at: datetime = dc_field(default_factory=_now)
    steps: list[dict] = dc_field(default_factory=list)
    status: str = "succeeded"
    error: str | None = None
    resume_at: datetime | None = None           # waiting: when the run continues

    def step(self, path: str, action: str, label: str, status: str = "done", **detail) -> None:
        entry = {"step": path, "action": action, "label": label, "status": status}
        if detail:
            entry["detail"] = detail
        self.steps.append(entry)

    def fail(self, message: str) -> None:
        self.status, self.error = "failed", message[:MAX_ERROR]

    def row(self) -> dict:
        return {"id": self.id, "workflow": self.workflow, "object": self.object, "record_id": self.record_id,
                "event": self.event, "timing": self.timing, "status": self.status, "version": self.version,
                "actor": self.actor, "depth": self.depth, "started_at": self.started_at,
                "finished_at": None if self.status == "waiting" else _now(), "steps": self.steps, "error": self.error,
                "resume_at": self.resume_at if self.status == "waiting" else None}


def record(conn, run: Run) -> None:
    conn.execute(insert(workflow_runs).values(**run.row()))


def record_failures(engine, runs: list[Run]) -> None:
    if runs:
        with begin_write(engine) as conn:
            conn.execute(insert(workflow_runs), [run.row() for run in runs])


def as_api(row) -> dict:
    return {"id": str(row.id), "workflow": row.workflow, "object": row.object,
            "record_id": str(row.record_id) if row.record_id else None, "event": row.event, "timing": row.timing,
            "status": row.status, "version": row.version, "actor": str(row.actor) if row.actor else None,
            "depth": row.depth, "started_at": to_api(row.started_at),
            "finished_at": to_api(row.finished_at),
            "steps": row.steps, "error": row.error, "resume_at": to_api(row.resume_at)}


def runs(engine, *, workflow: str | None = None, object_name: str | None = None, record_id=None,
         status: str | None = None, limit: int = 50) -> list[dict]:
    """Runs newest first, filtered by any of workflow, object, record and status."""
    t = workflow_runs
    stmt = select(t).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit)
    if workflow is not None:
        stmt = stmt.where(t.c.workflow == workflow)
    if object_name is not None:
        stmt = stmt.where(t.c.object == object_name)
    if record_id is not None:
        stmt = stmt.where(t.c.record_id == record_id)
    if status is not None:
        stmt = stmt.where(t.c.status == status)
    with begin_read(engine) as conn:
        return [as_api(row) for row in conn.execute(stmt)]
