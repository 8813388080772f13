"""The workflow run log (`tessera_workflow_run`): what ran, under which metadata version, step by
step. A run that succeeded is written in the transaction of the write that triggered it (it exists
exactly when its effects do); a failed run rolled that write back, so it is written afterwards in
a transaction of its own (`record_failures`). A run paused by a wait is `waiting` until its resume
time, then `succeeded`, `failed` or `cancelled` (waits.py). A run outside a write (time-relative,
scheduled, manual) keeps the steps that succeeded before a failure, and its failed run is written
with them (engine.run_saved); such a run can be retried from its `failed_step` (retry.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone

from sqlalchemy import select

from ..records.ids import new_id
from ..records.writer import InsertWriter
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
    at: str | None = None              # the step running now (the engine sets it): where a failure happened
    failed_step: str | None = None
    retry_of: uuid.UUID | None = None

    def step(self, path: str, action: str, label: str, status: str = "done", **detail) -> None:
        entry = {"step": path, "action": action, "label": label, "status": status}
        if detail:
            entry["detail"] = detail
        self.steps.append(entry)

    def fail(self, message: str) -> None:
        self.status, self.error, self.failed_step = "failed", message[:MAX_ERROR], self.at

    def row(self, finished_at: datetime | None = None) -> dict:
        """The run's log row; `finished_at`: when (default: now)."""
        return {"id": self.id, "workflow": self.workflow, "object": self.object, "record_id": self.record_id,
                "event": self.event, "timing": self.timing, "status": self.status, "version": self.version,
                "actor": self.actor, "depth": self.depth, "started_at": self.started_at,
                "finished_at": None if self.status == "waiting" else finished_at or _now(), "steps": self.steps, "error": self.error,
                "resume_at": self.resume_at if self.status == "waiting" else None, "failed_step": self.failed_step,
                "retry_of": self.retry_of}


# The run's INSERT compiled once per dialect (records/writer.py): a before-save workflow logs a
# run on every write it fires on, and building `insert(...).values(**row)` per run cost more than
# the workflow's actions (~6 ms a run under a profiler, 20x a bulk create's row).
_WRITERS: dict[str, InsertWriter] = {}


def _writer(conn) -> InsertWriter:
    writer = _WRITERS.get(conn.dialect.name)
    if writer is None:
        writer = _WRITERS[conn.dialect.name] = InsertWriter(workflow_runs, conn.dialect)
    return writer


def record(conn, run: Run) -> None:
    _writer(conn).execute_row(conn, run.row())


def record_all(conn, runs: list[Run]) -> None:
    """Runs in one statement, column by column: a column holding one object for every run (the
    workflow, version, actor, start of a bulk create's runs) is converted for the driver once."""
    if len(runs) == 1:
        record(conn, runs[0])
    elif runs:
        finished = _now()
        rows = [run.row(finished) for run in runs]
        writer = _writer(conn)
        columns = {name: [row[name] for row in rows] for name in writer.names}
        constants = {name: values[0] for name, values in columns.items() if len(set(map(id, values))) == 1}
        writer.execute_columns(conn, columns, len(rows), constants)


def record_failures(engine, runs: list[Run]) -> None:
    if runs:
        with begin_write(engine) as conn:
            record_all(conn, runs)


def as_api(row) -> dict:
    return {"id": str(row.id), "workflow": row.workflow, "object": row.object,
            "record_id": str(row.record_id) if row.record_id else None, "event": row.event, "timing": row.timing,
            "status": row.status, "version": row.version, "actor": str(row.actor) if row.actor else None,
            "depth": row.depth, "started_at": to_api(row.started_at),
            "finished_at": to_api(row.finished_at),
            "steps": row.steps, "error": row.error, "resume_at": to_api(row.resume_at), "failed_step": row.failed_step,
            "retry_of": str(row.retry_of) if row.retry_of else None,
            "retried_by": str(row.retried_by) if row.retried_by else None}


def _with_retries():
    """Runs with the id of the run that retried each (at most one: retry_of is unique)."""
    retry = workflow_runs.alias("retry")
    return (select(workflow_runs, retry.c.id.label("retried_by"))
            .outerjoin(retry, retry.c.retry_of == workflow_runs.c.id))


def get_run(engine, run_id: uuid.UUID) -> dict | None:
    with begin_read(engine) as conn:
        row = conn.execute(_with_retries().where(workflow_runs.c.id == run_id)).first()
    return as_api(row) if row is not None else None


def runs(engine, *, workflow: str | None = None, object_name: str | None = None, record_id=None,
         status: str | None = None, limit: int = 50) -> list[dict]:
    """Runs newest first, filtered by any of workflow, object, record and status."""
    t = workflow_runs
    stmt = _with_retries().order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit)
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
