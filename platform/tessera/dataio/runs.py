"""The wizard's imports as rows of `tessera_import`, and the saved mappings (`tessera_import_mapping`).

An import is uploaded (the file and its header kept), mapped, then queued: `queue()` writes the
mapping and enqueues the `dataio.import` job in one transaction. The job (jobs.py) marks it
running, reports progress, and records the outcome in the same transaction as the records it
imports — so a job that runs again after a lost worker finds the import done and does nothing.
Only its owner sees an import (`get(..., user_id)`).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, insert, select, update

from ..automation.queue import enqueue
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import import_mappings, import_runs

JOB_KIND = "dataio.import"
_SUMMARY = [c for c in import_runs.c if c.name not in ("content", "errors_csv")]


def _now():
    return datetime.now(timezone.utc)


def create(engine, user_id, object_name: str, filename: str, fmt: str, content: bytes, headers: list,
           total: int, sample: list | None = None) -> int:
    with begin_write(engine) as conn:
        return conn.execute(insert(import_runs).values(
            user_id=user_id, object=object_name, filename=filename[:200], format=fmt, content=content,
            headers=headers, sample=[[cell[:60] for cell in row] for row in (sample or [])[:3]], status="uploaded", total=total, progress=0, created=0, updated=0, error_count=0,
            created_at=_now())).inserted_primary_key[0]


def get(engine, run_id, user_id=None, *, content: bool = False) -> dict | None:
    """The import (without the file and the error report unless `content`); None when there is no
    such import or it is another user's."""
    cols = list(import_runs.c) if content else _SUMMARY
    stmt = select(*cols).where(import_runs.c.id == run_id)
    if user_id is not None:
        stmt = stmt.where(import_runs.c.user_id == user_id)
    with begin_read(engine) as conn:
        row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def errors_file(engine, run_id, user_id) -> bytes | None:
    with begin_read(engine) as conn:
        return conn.execute(select(import_runs.c.errors_csv).where(
            import_runs.c.id == run_id, import_runs.c.user_id == user_id)).scalar()


def save_choices(engine, run_id, mapping: dict, operation: str, match_field: str | None) -> None:
    with begin_write(engine) as conn:
        conn.execute(update(import_runs).where(import_runs.c.id == run_id, import_runs.c.status == "uploaded")
                     .values(mapping=mapping, operation=operation, match_field=match_field))


def queue(engine, run_id, version: int | None = None) -> bool:
    """Queue the import's job (once: False when it was queued already)."""
    with begin_write(engine) as conn:
        moved = conn.execute(update(import_runs).where(import_runs.c.id == run_id, import_runs.c.status == "uploaded")
                             .values(status="queued")).rowcount
        if moved:
            enqueue(conn, JOB_KIND, {"import": int(run_id)}, unique_key=f"{JOB_KIND}:{run_id}", max_attempts=3,
                    version=version)
        return bool(moved)


def mark(conn, run_id, **values) -> None:
    conn.execute(update(import_runs).where(import_runs.c.id == run_id).values(**values))


def finish(conn, run_id, *, created: int, updated: int, errors_csv: bytes | None, error_count: int,
           message: str | None = None) -> None:
    mark(conn, run_id, status="failed" if error_count or message else "done", created=created, updated=updated,
         errors_csv=errors_csv, error_count=error_count, message=message, finished_at=_now(),
         content=b"")   # the file is not kept once imported (nor when refused): the error report says why


# -- saved mappings ---------------------------------------------------------------------------------
def saved_mappings(engine, user_id, object_name: str) -> dict[str, dict]:
    with begin_read(engine) as conn:
        rows = conn.execute(select(import_mappings.c.name, import_mappings.c.mapping).where(
            import_mappings.c.user_id == user_id, import_mappings.c.object == object_name)
            .order_by(import_mappings.c.name)).all()
    return {name: mapping for name, mapping in rows}


def save_mapping(engine, user_id, object_name: str, name: str, mapping: dict) -> None:
    with begin_write(engine) as conn:
        key = (import_mappings.c.user_id == user_id, import_mappings.c.object == object_name,
               import_mappings.c.name == name)
        conn.execute(delete(import_mappings).where(*key))
        conn.execute(insert(import_mappings).values(user_id=user_id, object=object_name, name=name,
                                                    mapping=mapping, updated_at=_now()))
