"""Retry a failed workflow run from its failed step (the run log's "Retry from failed step", the
API's POST /workflow-runs/{id}/retry, `tessera runs --retry ID`).

What can be retried: a failed run outside a write — time-relative, scheduled and manual runs
(engine.run_saved). Their steps are savepoints: the steps before the failure stayed done, so the
retry runs only the failed step and those after it. A record-triggered run (before or after save)
cannot be: its failure rolled the whole write back, and running part of it now would apply half a
write — the user saves the record again instead. Unless it failed after a `wait`: the steps before
the wait were committed with the write, and the part resumed after it (waits.py) was rolled back
whole, so such a run — whatever started it — is retried from the first step after its last wait.

The retry is a NEW run (`retry_of` names the failed one; unique, so a run is retried at most once)
under the metadata version active NOW (each run records its own version): the admin fixes the cause
— a workflow step, a validation rule, a credential — then retries. The record is loaded again
through the record service. The failed step is addressed by its path (actions.1.then.0): the
retry enters the branches on that path without evaluating their conditions again (the failed run
took them), runs the rest of that branch, then the steps after each enclosing `if`.
"""
from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from ..records.errors import BadQuery, Conflict, Forbidden, NotFound
from ..records.ids import id_from_text
from ..security.actor import Actor
from . import runlog, waits
from .compiler import Action, workflows_of

# the triggers whose runs happen outside a write (engine.run_saved)
RETRYABLE_EVENTS = ("time_relative", "scheduled", "manual")


class RetryRefused(Conflict):
    """409 with a machine-readable code saying why the run cannot be retried."""

    def __init__(self, code: str, message: str, **details):
        super().__init__(message, details=details)
        self.code = code


def parse_run_id(text) -> uuid.UUID:
    run_id = id_from_text(text)
    if run_id is None:
        raise BadQuery(f"'{str(text)[:80]}' is not a workflow run id")
    return run_id


def remaining_actions(actions: tuple[Action, ...], path: str, root: str = "actions") -> tuple[Action, ...]:
    """The actions to run to resume at `path` (actions.1.then.0): the action there and the rest of
    its list, then the rest of every enclosing list. LookupError when the path is not in `actions`."""
    parts = path.split(".")
    if parts[0] != root or len(parts) < 2:
        raise LookupError(path)
    return _from(actions, parts[1:], path)


def _from(actions, parts, path):
    index = int(parts[0]) if parts[0].isdigit() else -1
    if not 0 <= index < len(actions):
        raise LookupError(path)
    if len(parts) == 1:
        return tuple(actions[index:])
    action = actions[index]
    if action.kind != "if" or len(parts) < 3 or parts[1] not in ("then", "else"):
        raise LookupError(path)
    branch = action.then if parts[1] == "then" else action.otherwise
    return _from(branch, parts[2:], path) + tuple(actions[index + 1:])


def last_wait(run: dict) -> str | None:
    """The path of the last wait the run got past (its failure was in the part resumed after it)."""
    done = [s["step"] for s in run.get("steps") or () if s.get("action") == "wait" and s.get("status") == "done"]
    return done[-1] if done else None


def failed_step(run: dict) -> str | None:
    """Where the run failed: recorded by the engine; for runs logged before it was, the failed step."""
    if run.get("failed_step"):
        return run["failed_step"]
    failed = [s["step"] for s in run.get("steps") or () if s.get("status") == "failed"]
    return failed[-1] if failed else None


def retry_run(services, actor: Actor, run_id) -> dict:
    """Retry the failed run `run_id` (an id or its text) from its failed step, as `actor` (who
    needs customize_metadata). Returns {"run": the new run, "original": the failed run, now
    showing retried_by}. Raises BadQuery (400), Forbidden (403), NotFound (404), RetryRefused (409)."""
    rt = services.runtimes.current()
    if not rt.security.access_for(actor).system("customize_metadata"):
        raise Forbidden("retrying workflow runs is for admins (customize_metadata)")
    run_id = run_id if isinstance(run_id, uuid.UUID) else parse_run_id(run_id)
    old = runlog.get_run(services.engine, run_id)
    if old is None:
        raise NotFound(f"there is no workflow run '{run_id}'")
    if old["status"] != "failed":
        raise RetryRefused("run_not_failed", f"the run {run_id} {old['status']}: only a failed run can be retried",
                           run=str(run_id), status=old["status"])
    if old["retried_by"]:
        raise RetryRefused("run_already_retried", f"the run {run_id} was retried already, by {old['retried_by']}",
                           run=str(run_id), retried_by=old["retried_by"])
    resumed_after = last_wait(old)
    outside_a_write = old["event"] in RETRYABLE_EVENTS or resumed_after is not None or old.get("retry_of")
    if not outside_a_write:
        raise RetryRefused("write_rolled_back",
                           f"the run {run_id} was part of a write ({old['event']}, {old['timing'].replace('_', ' ')}): "
                           "the write was rolled back; save the record again (retrying the run alone would apply "
                           "half a write)",
                           run=str(run_id), event=old["event"], timing=old["timing"])
    wf = workflows_of(rt).by_name.get(old["workflow"])
    same_trigger = wf is not None and (wf.trigger == old["event"] if old["event"] in RETRYABLE_EVENTS
                                       else wf.trigger == "record" and old["event"] in wf.events)
    if not same_trigger:
        raise RetryRefused("workflow_unavailable",
                           f"the workflow '{old['workflow']}' no longer exists, is inactive or has another trigger "
                           "in the active metadata", run=str(run_id), workflow=old["workflow"])
    if resumed_after is not None:
        step = resumed_after
        after = waits.steps_after(wf.actions, resumed_after)
        actions = tuple(a for steps in after for a in steps) if after is not None else None
    else:
        step = failed_step(old)
        try:
            actions = remaining_actions(wf.actions, step) if step else None
        except LookupError:
            actions = None
    if not actions:
        raise RetryRefused("step_unavailable",
                           f"the failed step {step or '(unknown)'} is not in the workflow '{wf.name}' of the active "
                           "metadata; run the workflow again instead", run=str(run_id), step=step)
    record_id = old["record_id"]
    # the run already entered: its condition is not asked again; the record is loaded afresh
    resumed = replace(wf, actions=actions, condition=None)
    # as the original ran: a manual run as whoever asks now (the CLI, being the system: on the
    # record owner's behalf), the others on the owner's behalf
    who = actor if old["event"] == "manual" and not actor.is_system else None
    try:
        outcome = services.records.hooks.run_saved(resumed, record_id, trigger=old["event"], actor=who,
                                                   retry_of=run_id)
    except IntegrityError:   # another retry of this run committed first (retry_of is unique)
        raise RetryRefused("run_already_retried", f"the run {run_id} was retried already", run=str(run_id)) from None
    if outcome["status"] == "skipped":   # the only reason left: the record is gone
        raise RetryRefused("record_deleted", f"the {wf.object} record {record_id} was deleted",
                           run=str(run_id), object=wf.object, record_id=record_id)
    return {"run": runlog.get_run(services.engine, uuid.UUID(outcome["run_id"])),
            "original": runlog.get_run(services.engine, run_id)}
