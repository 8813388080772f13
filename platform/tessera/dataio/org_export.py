"""The full org data export: every object's records as CSV in one zip, with the metadata export.

Admins only (the `customize_metadata` and `export_data` system permissions), as a job (`dataio.export`):
`request()` writes the export's row, the job and an audit entry in one transaction; the job
reads every object page by page through the record service as the admin who asked (so what an
admin may not read is not exported either) and stores the zip on the row; `download()` hands it
to that admin. Layout of the zip:

    data/<object>.csv      id, owner and every stored field the admin may read, one record a row
    metadata/...           what `tessera export` writes (the org layer and packages.lock.yaml)
    manifest.json          when, by whom, the metadata version, and the row count of each object

CSV cells are the API's values (lookups as ids, multi-picklists joined with ';', JSON as JSON);
text beginning with = + - @ is prefixed with ' so a spreadsheet does not run it.
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import insert, select, update

from ..automation.queue import enqueue
from ..security import audit
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import data_exports

JOB_KIND = "dataio.export"
PAGE = 1000


class ExportRefused(Exception):
    pass


def may_export(access) -> bool:
    return access.system("customize_metadata") and access.system("export_data")


def request(services, actor) -> int:
    access = services.records.runtime().security.access_for(actor)
    if not may_export(access):
        raise ExportRefused("only administrators (Customize Metadata and Export Data) may export the org's data")
    with begin_write(services.engine) as conn:
        export_id = conn.execute(insert(data_exports).values(
            user_id=actor.user_id, status="queued", created_at=datetime.now(timezone.utc))).inserted_primary_key[0]
        enqueue(conn, JOB_KIND, {"export": int(export_id)}, unique_key=f"{JOB_KIND}:{export_id}", max_attempts=3)
        audit.record(conn, actor, "data.export", f"data export {export_id}", {"export": int(export_id)})
    return export_id


def get(engine, export_id, user_id) -> dict | None:
    cols = [c for c in data_exports.c if c.name != "content"]
    with begin_read(engine) as conn:
        row = conn.execute(select(*cols).where(data_exports.c.id == export_id,
                                               data_exports.c.user_id == user_id)).mappings().first()
    return dict(row) if row else None


def download(engine, export_id, user_id) -> bytes | None:
    with begin_read(engine) as conn:
        return conn.execute(select(data_exports.c.content).where(
            data_exports.c.id == export_id, data_exports.c.user_id == user_id,
            data_exports.c.status == "done")).scalar()


def run(services, export_id: int) -> None:
    """The job: build the zip and store it (a run after a lost worker builds it again)."""
    engine = services.engine
    with begin_read(engine) as conn:
        row = conn.execute(select(data_exports.c.user_id, data_exports.c.status)
                           .where(data_exports.c.id == export_id)).first()
    if row is None or row.status == "done":
        return
    actor = services.identity.actor_for_user_id(row.user_id)
    with begin_write(engine) as conn:
        conn.execute(update(data_exports).where(data_exports.c.id == export_id).values(status="running"))
    if actor is None or not may_export(services.records.runtime().security.access_for(actor)):
        _finish(engine, export_id, None, "the admin who asked for it may no longer export the org's data")
        return
    _finish(engine, export_id, build(services, actor), None)


def fail(engine, export_id: int, message: str) -> None:
    _finish(engine, export_id, None, message)


def _finish(engine, export_id, content, message):
    with begin_write(engine) as conn:
        conn.execute(update(data_exports).where(data_exports.c.id == export_id).values(
            status="failed" if message else "done", content=content, size=len(content) if content else None,
            message=message, finished_at=datetime.now(timezone.utc)))


def build(services, actor) -> bytes:
    rt = services.records.runtime()
    access = rt.security.access_for(actor)
    out = io.BytesIO()
    counts = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(rt.objects):
            if not access.can(name, "read"):
                continue
            obj = rt.objects[name].obj
            fields = ["id", "owner", "created_at", "updated_at"] + [
                f.name for f in obj.stored_fields if access.can_read_field(name, f.name)]
            with archive.open(f"data/{name}.csv", "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as text:
                writer = csv.writer(text)
                writer.writerow(fields)
                counts[name] = 0
                cursor = None
                while True:
                    page = services.records.query(actor, name, fields=fields, limit=PAGE, cursor=cursor)
                    writer.writerows([_cell(record.get(f)) for f in fields] for record in page.records)
                    counts[name] += len(page.records)
                    cursor = page.next_cursor
                    if not cursor:
                        break
        with tempfile.TemporaryDirectory() as tmp:
            for path in services.changes.export_org(tmp):
                path = Path(path)
                if path.is_file():
                    archive.write(path, "metadata/" + path.relative_to(tmp).as_posix())
        active = services.changes.active()
        archive.writestr("manifest.json", json.dumps({
            "exported_at": datetime.now(timezone.utc).isoformat(), "by": str(actor.user_id),
            "metadata_version": getattr(active, "number", None), "records": counts}, indent=2))
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = ";".join(map(str, value))
    elif isinstance(value, dict):
        value = json.dumps(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def recent(engine, user_id, limit: int = 20) -> list[dict]:
    cols = [c for c in data_exports.c if c.name != "content"]
    with begin_read(engine) as conn:
        rows = conn.execute(select(*cols).where(data_exports.c.user_id == user_id)
                            .order_by(data_exports.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]
