"""Workflows that run outside the write of their record: time-relative, scheduled and manual.

time_relative  Saving a record plans one job per such workflow of its object, at the field's value
               plus the offset, keyed `timed:<workflow>:<record id>:<fire time>` (in the write's
               transaction). When the field or the condition changes, the old plan's job is
               cancelled and the new one planned; a deleted record cancels it. When the job fires,
               everything is checked again — the workflow is still active, the record exists, its
               fire time is still the job's, the condition holds — and only then do the actions run.
               A fire time already past runs at once.
scheduled      Each scheduled workflow is a cron schedule of the job queue (every worker is a
               scheduler; each firing is one job): the job runs the actions on every record the
               condition selects (through the record service's query, in SQL), each record in a
               transaction of its own, at most MAX_SCHEDULED_RECORDS a firing.
manual         `run_manual` (the API's POST /workflows/{name}/run, the app's Automation menu) runs
               the actions on records the caller chose and may see and edit.

All of them run actions like an after-save workflow (engine.WorkflowEngine.run_saved): as the
system on behalf of the record's owner (time-relative, scheduled) or of the caller (manual), or as
the caller with run_as: triggering_user; the run log records each.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timezone

from sqlalchemy import or_, select

from ..security.actor import SYSTEM, Actor
from ..storage.platform_tables import jobs
from . import queue as q
from .compiler import Workflow, workflows_of
from .handlers import register, registry
from .schedule import Schedule

log = logging.getLogger(__name__)

TIMED_KIND = "workflow.timed"
SCHEDULED_KIND = "workflow.scheduled"
MAX_SCHEDULED_RECORDS = 10_000
MAX_MANUAL_RECORDS = 200
_PAGE = 200


def fire_time(wf: Workflow, values: dict) -> datetime | None:
    value = values.get(wf.field)
    if value is None:
        return None
    if isinstance(value, datetime):
        at = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, date):
        at = datetime.combine(value, time(0), tzinfo=timezone.utc)
    else:
        return None
    try:
        return (at + wf.offset).astimezone(timezone.utc)
    except OverflowError:
        return None


def _key(wf: Workflow, record_id, at: datetime) -> str:
    return f"timed:{wf.name}:{record_id}:{at.isoformat()}"


def planned_for_record(engine, runtime, object_name: str, record_id) -> list[dict]:
    """The time-relative runs planned for a record and not yet fired, soonest first (the record
    page shows them): [{workflow, label, fire_at}]."""
    timed = workflows_of(runtime).timed_for(object_name)
    if not timed:
        return []
    t = jobs
    keys = or_(*[t.c.unique_key.startswith(f"timed:{wf.name}:{record_id}:", autoescape=True) for wf in timed])
    stmt = (select(t.c.payload, t.c.run_at).where(t.c.kind == TIMED_KIND, t.c.status.in_(("ready", "retry")), keys)
            .order_by(t.c.run_at).limit(50))
    labels = {wf.name: wf.label for wf in timed}
    with engine.connect() as conn:
        return [{"workflow": row.payload["workflow"], "label": labels.get(row.payload["workflow"], row.payload["workflow"]),
                 "fire_at": row.payload["fire_at"]} for row in conn.execute(stmt)]


def plan_timed(ctx, event: str, values: dict, prior: dict | None) -> None:
    """Called by the engine after a write of a record whose object has time-relative workflows."""
    for wf in workflows_of(ctx.runtime).timed_for(ctx.object_name):
        record_id = values.get("id")
        new = None if event == "delete" else _planned(ctx, wf, values)
        old = _planned(ctx, wf, prior) if prior is not None else None
        if old == new:
            continue
        if old is not None:
            q.cancel_key(ctx.conn, _key(wf, record_id, old))
        if new is not None:
            q.enqueue_or_revive(ctx.conn, TIMED_KIND, {"workflow": wf.name, "object": wf.object,
                                                        "record_id": str(record_id), "fire_at": new.isoformat()},
                                unique_key=_key(wf, record_id, new), run_at=new, max_attempts=5,
                                version=ctx.runtime.version)


def _planned(ctx, wf, values) -> datetime | None:
    at = fire_time(wf, values)
    if at is None:
        return None
    if wf.condition is not None and ctx.evaluate(wf.condition, values, None) is not True:
        return None
    return at


def _on_behalf_of_owner(values: dict) -> Actor:
    return Actor(user_id=values.get("owner"), username="automation", is_system=True)


@register(TIMED_KIND)
def fire_timed(payload, context) -> None:
    services = context.services
    wf = workflows_of(services.runtimes.current()).by_name.get(payload["workflow"])
    if wf is None or wf.trigger != "time_relative":
        return   # deactivated or removed since it was planned
    expected = datetime.fromisoformat(payload["fire_at"])

    def still_due(ctx, values) -> bool:
        return fire_time(wf, values) == expected
    services.records.hooks.run_saved(wf, payload["record_id"], trigger="time_relative", actor=None,
                                     precheck=still_due)


@register(SCHEDULED_KIND)
def fire_scheduled(payload, context) -> None:
    services = context.services
    wf = workflows_of(services.runtimes.current()).by_name.get(payload["workflow"])
    if wf is None or wf.trigger != "scheduled":
        return
    filter_text = wf.condition.text if wf.condition is not None else None
    cursor, seen = None, 0
    while seen < MAX_SCHEDULED_RECORDS:
        page = services.records.query(SYSTEM, wf.object, filter=filter_text, fields=["id"], limit=_PAGE,
                                      cursor=cursor)
        for record in page.records:
            # the condition was checked by the query; the run checks it again on the locked row
            services.records.hooks.run_saved(wf, record["id"], trigger="scheduled", actor=None)
        seen += len(page.records)
        cursor = page.next_cursor
        if cursor is None:
            return
    log.warning("scheduled workflow %s: stopped after %d records this firing", wf.name, MAX_SCHEDULED_RECORDS)


def _workflow_schedules(services) -> list[Schedule]:
    compiled = workflows_of(services.runtimes.current())
    schedules = getattr(compiled, "_schedules", None)
    if schedules is None:
        schedules = compiled._schedules = [Schedule(name=f"workflow.{wf.name}", cron=wf.cron, kind=SCHEDULED_KIND,
                                                    payload={"workflow": wf.name}, max_attempts=3)
                                           for wf in compiled.scheduled]
    return schedules


registry.schedule_sources.append(_workflow_schedules)


def run_manual(services, actor: Actor, name: str, record_ids: list) -> list[dict]:
    """Run a manual workflow on records the actor chose. Raises NotFound / Forbidden / ValidationFailed
    for the request as a whole; each record's outcome is in the list."""
    from ..records.errors import Forbidden, NotFound, RecordError, ValidationFailed
    rt = services.runtimes.current()
    wf = workflows_of(rt).by_name.get(name)
    if wf is None or wf.trigger != "manual":
        raise NotFound(f"there is no active manual workflow '{name}'")
    if not rt.security.access_for(actor).can(wf.object, "edit"):
        raise Forbidden(f"running '{name}' needs the right to edit {wf.object} records")
    if not isinstance(record_ids, list) or not record_ids or len(record_ids) > MAX_MANUAL_RECORDS:
        raise ValidationFailed(f'"records" must be a list of 1 to {MAX_MANUAL_RECORDS} record ids')
    results = []
    for record_id in dict.fromkeys(map(str, record_ids)):
        try:
            services.records.get(actor, wf.object, record_id, fields=["id"])   # the caller must see it
            if services.records.access_level(actor, wf.object, record_id) == "read":
                raise Forbidden(f"you have read-only access to {wf.object} '{record_id}'")
        except RecordError as exc:
            results.append({"record_id": record_id, "status": "refused", "error": exc.to_dict()})
            continue
        results.append({"record_id": record_id,
                        **services.records.hooks.run_saved(wf, record_id, trigger="manual", actor=actor)})
    return results
