"""The `wait` workflow action: a run pauses and continues later, on the job queue.

    write ──(same transaction)──▶ the steps before the wait · the run logged `waiting` with its
                                  resume time · a `workflow.resume` job due at that time
    worker, when due ──▶ the run row (locked), the workflow as now active, the record re-read
                         through the record service ──▶ the steps after the wait, appended to the
                         SAME run ──▶ succeeded · failed (with the error) · waiting again (another
                         wait) · cancelled (with the reason)

Where it resumes: the wait's step path (`actions.2.then.1`). The steps after it are the wait's later
siblings, then those of each enclosing `if` outwards — so a wait nested in branches resumes inside
them. The active definition of the workflow is the one that continues (like a time-relative firing:
an admin's fix applies to runs already waiting); when it no longer has a wait at that path (edited
meanwhile) or is no longer active, the run ends cancelled and says why.

Re-checked when it ends: the record still exists (deleted meanwhile: cancelled), and the
workflow's entry condition still holds on the record as it is now (no longer: cancelled) — the
wait's `recheck_condition: false` skips that check, for waits meant to run whatever happens (a
reminder a week after creation). `becomes_true` is not asked again: the record entered already.

The resumed steps run in a transaction of their own, as the run's original actor (run_as system:
the system on behalf of the user who triggered it; triggering_user: that user, if still active).
A failure rolls the resumed part back — the write that started the run was committed long ago and
is untouched — and the run is logged failed with the error. The job may run twice (at-least-once):
only a run still `waiting` at the wait's path continues, so a second run of the job does nothing.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timezone

from sqlalchemy import select, update

from ..records.errors import WorkflowFailed
from ..records.serialize import to_api
from ..security.actor import Actor
from ..storage.engine import begin_write
from ..storage.platform_tables import workflow_runs
from . import queue as q
from . import runlog
from .compiler import Action, workflows_of
from .handlers import register

log = logging.getLogger(__name__)

RESUME_KIND = "workflow.resume"
MAX_ATTEMPTS = 5


def resume_time(action: Action, now: datetime, until_value) -> datetime:
    """When a wait that starts `now` ends; an `until` already past (or blank) ends at once."""
    if action.duration is not None:
        return now + action.duration
    at = until_value
    if isinstance(at, datetime):
        at = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
    elif isinstance(at, date):
        at = datetime.combine(at, time(0), tzinfo=timezone.utc)
    else:
        return now
    return max(at.astimezone(timezone.utc), now)


def pause(ctx, run: runlog.Run, action: Action, until_value) -> None:
    """Leave `run` waiting at `action` and queue its resume, in the write's transaction."""
    at = resume_time(action, ctx.now, until_value)
    run.status, run.resume_at = "waiting", at
    run.step(action.path, action.kind, action.label, "waiting", resume_at=to_api(at))
    q.enqueue(ctx.conn, RESUME_KIND, {"run": str(run.id), "step": action.path}, run_at=at,
              unique_key=f"resume:{run.id}:{action.path}:{at.isoformat()}", max_attempts=MAX_ATTEMPTS,
              version=ctx.runtime.version)


def steps_after(actions, path: str):
    """The actions that follow the wait at `path`, in order, as lists to run one after the other
    (innermost first); None when there is no wait at `path`."""
    for i, action in enumerate(actions):
        if action.path == path:
            return [actions[i + 1:]] if action.kind == "wait" else None
        if action.kind == "if" and path.startswith(action.path + "."):
            branch = action.then if path.startswith(action.path + ".then.") else action.otherwise
            inner = steps_after(branch, path)
            return None if inner is None else [*inner, actions[i + 1:]]
    return None


def _run_of(row) -> runlog.Run:
    return runlog.Run(workflow=row.workflow, object=row.object, record_id=row.record_id, event=row.event,
                      timing=row.timing, version=row.version, actor=row.actor, depth=row.depth, id=row.id,
                      started_at=row.started_at, steps=[dict(s) for s in row.steps], status=row.status,
                      error=row.error, resume_at=row.resume_at)


def _save(conn, run: runlog.Run) -> None:
    row = run.row()
    conn.execute(update(workflow_runs).where(workflow_runs.c.id == run.id).values(
        status=row["status"], steps=row["steps"], error=row["error"], finished_at=row["finished_at"],
        resume_at=row["resume_at"]))


@register(RESUME_KIND)
def resume_job(payload, context) -> None:
    resume_run(context.services, payload["run"], payload["step"])


def resume_run(services, run_id: str, path: str) -> str | None:
    """Continue the waiting run `run_id` after its wait at `path`; returns its new status (None:
    nothing to do — not waiting there, e.g. a second run of the job)."""
    records, engine = services.records, services.records.hooks
    current: runlog.Run | None = None   # the run being continued (logged failed if it fails)
    try:
        with begin_write(records.engine) as conn:
            row = conn.execute(select(workflow_runs).where(workflow_runs.c.id == uuid.UUID(str(run_id)))
                               .with_for_update()).first()
            run = _run_of(row) if row is not None else None
            waiting = next((s for s in reversed(run.steps) if s["status"] == "waiting"), None) if run else None
            if run is None or run.status != "waiting" or waiting is None or waiting["step"] != path:
                return None
            waiting["status"] = "done"
            waiting.setdefault("detail", {})["resumed_at"] = to_api(q.utcnow())
            run.resume_at, current = None, run
            outcome = _continue(services, engine, conn, run, path)
            if outcome is not None:                      # cancelled: why
                run.status, run.error = "cancelled", outcome
            elif run.resume_at is None:                  # else: waiting again, at a later wait
                run.status = "succeeded"
            _save(conn, run)
            return run.status
    except WorkflowFailed as exc:                        # the resumed part rolled back
        log.info("resumed workflow run %s failed: %s", run_id, exc.message)
        if current is None:
            return "failed"
        current.fail(exc.message)
        with begin_write(records.engine) as conn:
            _save(conn, current)
        return "failed"


def _continue(services, engine, conn, run: runlog.Run, path: str) -> str | None:
    """Run the steps after the wait on `run`; a reason when the run must end cancelled instead."""
    wf = workflows_of(services.runtimes.current()).by_name.get(run.workflow)
    if wf is None:
        return f"the workflow '{run.workflow}' is no longer active"
    rest = steps_after(wf.actions, path)
    if rest is None:
        return f"the workflow '{run.workflow}' was changed while the run waited: it has no wait at {path} any more"
    values = services.records.stored_row(conn, wf.object, run.record_id) if run.record_id else None
    if values is None:
        return "the record was deleted while the run waited"
    if wf.run_as == "triggering_user":
        who = services.identity.actor_for_user_id(run.actor) if run.actor else None
        if who is None:
            return "the user who started the run is no longer active"
    else:
        who = Actor(user_id=run.actor or values.get("owner"), username="automation", is_system=True)
    ctx = services.records.automation_context(conn, wf.object, who)
    wait = _wait_at(wf.actions, path)
    if wait.recheck and wf.condition is not None and ctx.evaluate(wf.condition, values, None) is not True:
        return "the workflow's condition no longer holds"
    # the steps that follow run with the failure marked on `run` (engine.run_steps), then re-raise
    run.status = "waiting"
    for steps in rest:
        engine.run_steps(ctx, wf, run, steps, values)
        if run.resume_at is not None:                    # waits again
            return None
    return None


def _wait_at(actions, path: str) -> Action:
    for action in actions:
        if action.path == path:
            return action
        if action.kind == "if" and path.startswith(action.path + "."):
            return _wait_at(action.then if path.startswith(action.path + ".then.") else action.otherwise, path)
    raise LookupError(path)
