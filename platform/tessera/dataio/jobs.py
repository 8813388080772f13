"""The job handlers of imports and exports: `dataio.import` (the wizard's import, runs.py) and
`dataio.export` (the full org data export, org_export.py). A worker has them once this module is
imported (`tessera worker` and `tessera serve` import it).

The import is one transaction: the records (through the record service's bulk path, joined to
it) and the import's outcome commit together, so a job run again after a lost worker finds the
import done. A failing row saves nothing: the import is marked failed with its error report. The
mapping is checked again when the job runs (the metadata or the user's rights may have changed
since it was queued). Progress: rows checked so far, written from a second connection every
PROGRESS_EVERY rows — on PostgreSQL only: SQLite has one writer, the import holding its lock.
"""
from __future__ import annotations

import time

from ..automation.handlers import register
from ..records.errors import RecordError
from ..storage.engine import begin_write
from . import engine, mapping as mappings, org_export, runs, sources

PROGRESS_EVERY = 0.5   # seconds between progress writes


class _Failed(Exception):
    pass


@register(runs.JOB_KIND)
def import_job(payload, context):
    try:
        run_import(context.services, int(payload["import"]))
    except Exception as exc:
        if _last_attempt(context):    # the job is dead: say so on the import, not "running" for ever
            with begin_write(context.services.engine) as conn:
                runs.finish(conn, int(payload["import"]), created=0, updated=0, errors_csv=None, error_count=0,
                            message=f"the import job failed ({type(exc).__name__}): nothing was imported")
        raise


@register(org_export.JOB_KIND)
def export_job(payload, context):
    try:
        org_export.run(context.services, int(payload["export"]))
    except Exception as exc:
        if _last_attempt(context):
            org_export.fail(context.services.engine, int(payload["export"]),
                            f"the export job failed ({type(exc).__name__})")
        raise


def _last_attempt(context) -> bool:
    attempt, most = getattr(context, "attempt", None), getattr(context, "max_attempts", None)
    return attempt is not None and most is not None and attempt >= most


def run_import(services, run_id: int) -> None:
    db = services.engine
    run = runs.get(db, run_id, content=True)
    if run is None or run["status"] in ("done", "failed"):
        return

    def refuse(message):
        with begin_write(db) as conn:
            runs.finish(conn, run_id, created=0, updated=0, errors_csv=None, error_count=0, message=message)

    actor = services.identity.actor_for_user_id(run["user_id"])
    if actor is None:
        return refuse("the user who started this import is no longer active")
    with begin_write(db) as conn:
        runs.mark(conn, run_id, status="running", progress=0)
    rt = services.records.runtime()
    try:
        if run["object"] not in rt.objects:
            raise mappings.MappingError([f"there is no object '{run['object']}' any more"])
        sheet = sources.read_table(run["content"], run["format"])
        mappings.check(rt, rt.security.access_for(actor), run["object"], sheet.headers, run["mapping"] or {},
                       operation=run["operation"] or "insert", match_field=run["match_field"])
    except (sources.InputError, mappings.MappingError) as exc:
        return refuse(str(exc))
    spec = engine.Spec(run["object"], run["mapping"], run["operation"] or "insert", run["match_field"])
    progress = _progress(db, run_id) if db.dialect.name != "sqlite" else None
    outcome = None
    try:
        with begin_write(db) as conn:
            outcome = engine.run(services, actor, sheet, spec, conn=conn, progress=progress)
            if outcome.errors:
                raise _Failed
            runs.finish(conn, run_id, created=len(outcome.created), updated=len(outcome.updated), errors_csv=None,
                        error_count=0)
    except _Failed:
        with begin_write(db) as conn:
            runs.finish(conn, run_id, created=0, updated=0, errors_csv=engine.errors_csv(outcome.errors),
                        error_count=len(outcome.errors),
                        message=f"{len({e.row for e in outcome.errors})} of {len(sheet)} rows failed.")
    except RecordError as exc:
        refuse(exc.message)


def _progress(db, run_id):
    last = [0.0]

    def report(checked: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY:
            last[0] = now
            with begin_write(db) as conn:
                runs.mark(conn, run_id, progress=checked)
    return report
