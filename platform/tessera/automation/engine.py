"""The workflow engine: record-triggered workflows run inside the record service's write path.

It implements `records.hooks.WriteHooks` and registers itself on the record service, which calls
it at two points of its order of execution (records/service.py):

  before save   workflows with timing before_save whose condition holds change the record being
                saved: their update_record values join the write (no second UPDATE, no re-trigger).
                Several such workflows run in name order, each seeing the changes of the last.
  after save    workflows with timing after_save run their actions in the write's transaction,
                through the record service (as the system, keeping the triggering user as creator
                and default owner, or as that user with run_as: triggering_user). Their writes run
                the workflows of the records they touch: a chain deeper than MAX_DEPTH (a loop) is
                stopped with a clear error. Any failure fails the whole write — nothing half-applies
                — and the failed run is logged once the write has rolled back.

Entry: the event matches, then the condition (absent: always). With `when: becomes_true` an update
enters only when the condition did not hold for the record as it was (a create: when it holds).

A `wait` action pauses a run (waits.py): the steps before it ran, the run is logged `waiting` and its
resume job queued in the same transaction; the job continues the run after the wait (resume_run).
"""
from __future__ import annotations

import json
import logging
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from ..records.errors import RecordError, WorkflowFailed
from ..records.serialize import to_api
from ..security.actor import Actor
from ..storage.engine import begin_write
from . import (assignment, before_save, copy_sync, deferred, email_outbox, keyed_writes, notifications, related_updates, runlog,
               waits, webhooks)
from .compiler import Action, Workflow, workflows_of

log = logging.getLogger(__name__)

MAX_DEPTH = 8
# the after-save workflows running in this thread, outermost first (a loop shows as a repeat)
_chain: ContextVar[tuple[str, ...]] = ContextVar("tessera_workflow_chain", default=())
# set by a dry run (dry_run.py): the messages (email, webhook) runs would send are collected here
# instead of being written to the outbox / delivery log and queued
_collected: ContextVar[list | None] = ContextVar("tessera_workflow_collected", default=None)


@contextmanager
def collecting_messages():
    """Within this block, send_email and webhook steps collect what they would send (yielded list)
    and queue nothing; every other step acts as usual (the caller rolls the transaction back)."""
    collected: list[dict] = []
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


class WorkflowEngine:
    def __init__(self, records):
        self.records = records
        self.approvals = None   # approvals.ApprovalService, for the submit_for_approval action (it installs itself)

    def install(self) -> "WorkflowEngine":
        self.records.hooks = self
        return self

    # -- records.hooks.WriteHooks -------------------------------------------------------------
    def wants(self, runtime, object_name: str, event: str, timing: str) -> bool:
        compiled = workflows_of(runtime)
        return bool(compiled.for_event(object_name, event, timing)
                    or (timing == "after_save" and compiled.timed_for(object_name))
                    or (timing == "after_save" and event == "update" and copy_sync.wants(runtime, object_name)))

    def before_save(self, ctx, event, values, prior) -> dict:
        [outcome] = self.before_save_rows(ctx, event, [values], [prior])
        if isinstance(outcome, WorkflowFailed):
            raise outcome
        return outcome

    def before_save_rows(self, ctx, event, records, priors) -> list:
        """before_save for many records at once (before_save.py; one record is a batch of one)."""
        return before_save.run_batch(self, ctx, event, records, priors, depth=len(_chain.get()) + 1)

    def flush_logged(self, ctx, logged) -> None:
        runlog.record_all(ctx.conn, logged)

    def after_save(self, ctx, event, values, prior) -> None:
        for wf in workflows_of(ctx.runtime).for_event(ctx.object_name, event, "after_save"):
            if not self._enters(ctx, wf, values, prior if event == "update" else None):
                continue
            chain = _chain.get()
            run = self._run(ctx, wf, event, values)
            if len(chain) >= MAX_DEPTH:
                exc = WorkflowFailed(
                    f"workflow loop stopped: more than {MAX_DEPTH} workflows deep ({' -> '.join((*chain, wf.name))}); "
                    "nothing was saved", details={"workflow": wf.name, "chain": [*chain, wf.name]})
                self._failed(run, exc)
                raise exc
            token = _chain.set((*chain, wf.name))
            try:
                self._after_actions(ctx, wf, run, wf.actions, values, prior)   # a wait leaves it waiting
            except WorkflowFailed as exc:
                self._failed(run, exc)
                raise
            finally:
                _chain.reset(token)
            runlog.record(ctx.conn, run)
        if workflows_of(ctx.runtime).timed_for(ctx.object_name):
            deferred.plan_timed(ctx, event, values, prior if event != "create" else None)
        if event == "update":
            copy_sync.plan(ctx, values, prior)   # copies of this record's fields elsewhere follow it

    def run_saved(self, wf: Workflow, record_id, *, trigger: str, actor: Actor | None, precheck=None,
                  retry_of=None) -> dict:
        """Run a workflow's actions on a saved record, in a transaction of its own (time-relative,
        scheduled and manual workflows; see deferred.py). `actor`: who asked (None: the system on
        behalf of the record's owner). Returns {"status": succeeded | skipped | failed, ...}.
        Each step is a savepoint: a failure undoes the failed step only, and the run is logged with
        the steps done before it, which stay — so it can be retried from its failed step (retry.py,
        which passes `retry_of`, the failed run)."""
        records = self.records
        failure = None
        with begin_write(records.engine) as conn:
            values = records.stored_row(conn, wf.object, record_id)
            if values is None:
                return {"status": "skipped", "reason": "the record no longer exists"}
            who = actor or Actor(user_id=values.get("owner"), username="automation", is_system=True)
            ctx = records.automation_context(conn, wf.object, who)
            if precheck is not None and not precheck(ctx, values):
                return {"status": "skipped", "reason": "no longer due"}
            if wf.condition is not None and ctx.evaluate(wf.condition, values, None) is not True:
                return {"status": "skipped", "reason": "the condition does not hold"}
            run = self._run(ctx, wf, trigger, values)
            run.retry_of = retry_of
            token = _chain.set((*_chain.get(), wf.name))
            try:
                with records.on_connection(conn):
                    self._after_actions(ctx, wf, run, wf.actions, values, None, stepwise=True)
            except WorkflowFailed as exc:
                self._failed(run, exc)
                failure = exc
            finally:
                _chain.reset(token)
            runlog.record_all(conn, failure.failed_runs if failure is not None else [run])
        if failure is not None:
            return {"status": "failed", "run_id": str(run.id), "error": failure.to_dict()}
        return {"status": run.status, "run_id": str(run.id)}   # succeeded, or waiting (a wait paused it)

    def run_actions(self, ctx, wf: Workflow, event: str, values: dict) -> runlog.Run | None:
        """Run `wf`'s actions on a saved record in the caller's transaction (`ctx.conn`), logged
        like any run (an approval's final actions: approvals.py). None when there are no actions.
        A failure raises WorkflowFailed carrying the failed run: the caller rolls back, then
        calls record_failures."""
        if not wf.actions:
            return None
        run = self._run(ctx, wf, event, values)
        token = _chain.set((*_chain.get(), wf.name))
        try:
            with self.records.on_connection(ctx.conn):
                self._after_actions(ctx, wf, run, wf.actions, values, None)
        except WorkflowFailed as exc:
            self._failed(run, exc)
            raise
        finally:
            _chain.reset(token)
        runlog.record(ctx.conn, run)
        return run

    def run_steps(self, ctx, wf: Workflow, run: runlog.Run, steps, values: dict) -> None:
        """Run `steps` (actions of `wf`) on a saved record in `ctx.conn`'s transaction, adding to
        `run` (a resumed run: waits.py; an inbound webhook: inbound.py). Raises WorkflowFailed."""
        token = _chain.set((*_chain.get(), wf.name))
        try:
            with self.records.on_connection(ctx.conn):
                self._after_actions(ctx, wf, run, steps, values, None)
        except WorkflowFailed as exc:
            self._failed(run, exc)
            raise
        finally:
            _chain.reset(token)

    def record_failures(self, exc: WorkflowFailed) -> None:
        """Called by the record service once a failed write has rolled back."""
        try:
            runlog.record_failures(self.records.engine, getattr(exc, "failed_runs", []))
        except Exception:   # the write's own error is what the caller must see
            log.exception("could not record failed workflow runs")

    # -- steps --------------------------------------------------------------------------------
    def _enters(self, ctx, wf: Workflow, values, prior) -> bool:
        if wf.condition is None:
            return True
        if ctx.evaluate(wf.condition, values, prior) is not True:
            return False
        if wf.becomes_true and prior is not None:
            return ctx.evaluate(wf.condition, prior, None) is not True
        return True

    def _run(self, ctx, wf, event, values) -> runlog.Run:
        return runlog.Run(workflow=wf.name, object=ctx.object_name, record_id=values.get("id"), event=event,
                          timing=wf.timing, version=ctx.runtime.version, actor=ctx.actor.user_id,
                          depth=len(_chain.get()) + 1)

    def _failed(self, run: runlog.Run, exc: WorkflowFailed) -> None:
        run.fail(exc.message)
        exc.failed_runs = [*getattr(exc, "failed_runs", []), run]

    def _after_actions(self, ctx, wf, run, actions, values, prior, stepwise=False) -> bool:
        """Run `actions` in order; True when a wait paused the run (the rest runs when it ends).
        `stepwise`: each step in a savepoint of its own (run_saved)."""
        for action in actions:
            run.at = action.path
            if action.kind == "if":
                if self._after_actions(ctx, wf, run, self._branch(ctx, wf, run, action, values, prior), values, prior,
                                       stepwise):
                    return True
                continue
            if action.kind == "wait":
                waits.pause(ctx, run, action, self._evaluate(ctx, wf, action, action.until, values, prior)
                            if action.until is not None else None)
                return True
            fields = {name: self._evaluate(ctx, wf, action, compiled, values, prior) for name, compiled in action.values}
            actor = self._actor(ctx, wf)
            step = ctx.conn.begin_nested() if stepwise else None
            try:
                if action.match_field is not None:    # upsert_record, update_record by match
                    self._keyed_write(ctx, wf, run, action, actor, values, prior, fields)
                elif action.kind == "update_record":
                    self.records.update(actor, ctx.object_name, values["id"], self._input(ctx, ctx.object_name, fields))
                    run.step(action.path, action.kind, action.label, values=_shown(fields))
                elif action.kind == "update_parent":
                    parent_id = values.get(action.lookup)
                    if parent_id is None:
                        run.step(action.path, action.kind, action.label, "skipped", reason=f"{action.lookup} is blank")
                        continue
                    self.records.update(actor, action.target, parent_id, self._input(ctx, action.target, fields))
                    run.step(action.path, action.kind, action.label, record_id=str(parent_id), values=_shown(fields))
                elif action.kind == "update_related":
                    self._update_related(ctx, wf, run, action, actor, values, fields)
                elif action.kind == "create_record":
                    created = self.records.create(actor, action.target, self._input(ctx, action.target, fields))
                    run.step(action.path, action.kind, action.label, object=action.target, record_id=created["id"])
                elif action.kind == "assign_owner":
                    self._assign(ctx, wf, run, action, actor, values)
                elif action.kind == "notify":
                    self._notify(ctx, wf, run, action, values, prior)
                elif action.kind == "send_email":
                    self._send_email(ctx, wf, run, action, values, prior)
                elif action.kind == "webhook" and _collected.get() is not None:
                    self._collect_webhook(ctx, wf, run, action, values)
                elif action.kind == "webhook":   # a delivery and its job, in this transaction
                    delivery = webhooks.enqueue_for_record(self.records, ctx, wf.name, action.webhook, run.event, values)
                    run.step(action.path, action.kind, action.label, delivery=delivery, url=action.webhook.url)
                elif action.kind == "submit_for_approval":
                    self._submit_for_approval(ctx, wf, run, action, values)
            except WorkflowFailed:
                _undo(step)
                raise
            except RecordError as exc:
                _undo(step)
                run.step(action.path, action.kind, action.label, "failed", error=exc.to_dict())
                raise WorkflowFailed(f"workflow '{wf.name}' failed at {action.path} ({action.label}): {exc.message}",
                                     details={"workflow": wf.name, "step": action.path, "cause": exc.to_dict()}) from None
            except BaseException:
                _undo(step)
                raise
            finally:
                if step is not None and step.is_active:
                    step.commit()
        return False

    def _keyed_write(self, ctx, wf, run, action: Action, actor, values, prior, fields) -> None:
        """upsert_record, or update_record of the record `match` finds (keyed_writes.py)."""
        key = self._evaluate(ctx, wf, action, action.match_value, values, prior)
        if key is None or key == "":
            exc = keyed_writes.blank_key(wf, action)
            run.step(action.path, action.kind, action.label, "failed", error=exc.message)
            raise exc
        key = self._input(ctx, action.target, {action.match_field: key})[action.match_field]
        data = self._input(ctx, action.target, fields)
        if action.kind == "upsert_record":
            extra = {name: self._evaluate(ctx, wf, action, compiled, values, prior) for name, compiled in action.on_create}
            record, outcome = keyed_writes.upsert(self.records, actor, action, key, data,
                                                  self._input(ctx, action.target, extra))
            shown = {**_shown(extra), **_shown(fields)} if outcome == "created" else _shown(fields)
        else:
            try:
                record = keyed_writes.update_matched(self.records, actor, action, key, data)
            except keyed_writes.NoMatch as exc:
                run.step(action.path, action.kind, action.label, "failed", error=str(exc), key=keyed_writes.key_text(key))
                raise WorkflowFailed(f"workflow '{wf.name}' failed at {action.path} ({action.label}): {exc}",
                                     details={"workflow": wf.name, "step": action.path, "code": "no_match",
                                              "object": action.target, "field": action.match_field}) from None
            outcome, shown = "updated", _shown(fields)
        run.step(action.path, action.kind, action.label, object=action.target, record_id=record["id"],
                 outcome=outcome, key=keyed_writes.key_text(key), values=shown)

    def _update_related(self, ctx, wf, run, action: Action, actor, values, fields) -> None:
        try:
            ids = related_updates.update_related(self.records, actor, action.target, action.lookup, values["id"],
                                                 action.related_filter, self._input(ctx, action.target, fields))
        except related_updates.TooManyRelated as exc:
            run.step(action.path, action.kind, action.label, "failed", error=str(exc))
            raise WorkflowFailed(f"workflow '{wf.name}' failed at {action.path} ({action.label}): {exc}",
                                 details={"workflow": wf.name, "step": action.path}) from None
        if not ids:
            run.step(action.path, action.kind, action.label, "skipped", reason=f"no {action.target} records match")
            return
        run.step(action.path, action.kind, action.label, object=action.target, updated=len(ids),
                 record_ids=[str(i) for i in ids[:20]], values=_shown(fields))

    def _assign(self, ctx, wf, run, action: Action, actor, values) -> None:
        if action.user is not None:
            owner, how = self._evaluate(ctx, wf, action, action.user, values, None), "user"
            if owner is None:
                run.step(action.path, action.kind, action.label, "skipped", reason="the user expression is blank")
                return
        else:
            kind, name = ("queue", action.queue) if action.queue else ("group", action.group)
            members, why_not = assignment.pool_members(self.records, kind, name)
            if not members:
                run.step(action.path, action.kind, action.label, "skipped", reason=why_not)
                return
            how = f"{action.method} over {kind} '{name}'"
            owner = (assignment.round_robin(ctx.conn, f"{wf.name}:{action.path}", members)
                     if action.method == "round_robin"
                     else assignment.least_busy(self.records, ctx.object_name, members, action.busy_filter))
        if str(owner) == str(values.get("owner")):
            run.step(action.path, action.kind, action.label, "skipped", reason="already the owner", how=how)
            return
        self.records.update(actor, ctx.object_name, values["id"], {"owner": str(owner)})
        obj = ctx.runtime.metadata.objects[ctx.object_name]
        name = values.get(obj.name_field) if obj.name_field else None
        notifications.notify(ctx.conn, [uuid.UUID(str(owner))], f"{obj.label} assigned to you" + (f": {name}" if name else ""),
                             f"By the workflow '{wf.label}'.", object_name=ctx.object_name, record_id=values["id"],
                             source=f"workflow:{wf.name}")
        run.step(action.path, action.kind, action.label, owner=str(owner), how=how)

    def _notify(self, ctx, wf, run, action: Action, values, prior) -> None:
        recipients = [self._evaluate(ctx, wf, action, compiled, values, prior) for compiled in action.to]
        if action.queue:
            members, _why_not = assignment.pool_members(self.records, "queue", action.queue)
            recipients += members
        if action.group:
            members, _why_not = assignment.pool_members(self.records, "group", action.group)
            recipients += members
        recipients = [uuid.UUID(str(r)) for r in recipients if r is not None]
        title = self._evaluate(ctx, wf, action, action.title, values, prior) or ""
        message = self._evaluate(ctx, wf, action, action.message, values, prior) if action.message else ""
        sent = notifications.notify(ctx.conn, recipients, title, message or "", object_name=ctx.object_name,
                                    record_id=values.get("id") if ctx.object_name else None,
                                    source=f"workflow:{wf.name}")
        if not sent:
            run.step(action.path, action.kind, action.label, "skipped", reason="no recipients")
            return
        run.step(action.path, action.kind, action.label, recipients=[str(r) for r in dict.fromkeys(recipients)],
                 title=title)

    def _send_email(self, ctx, wf, run, action: Action, values, prior) -> None:
        """Render now (the record as this write leaves it), deliver later: the outbox row and its
        job are written in the write's transaction (email_outbox.py)."""
        to, rejected = email_outbox.split_addresses(self._evaluate(ctx, wf, action, c, values, prior) for c in action.to)
        cc, rejected_cc = email_outbox.split_addresses(self._evaluate(ctx, wf, action, c, values, prior) for c in action.cc)
        ignored = {"ignored": rejected + rejected_cc} if rejected or rejected_cc else {}
        if not to:
            run.step(action.path, action.kind, action.label, "skipped", reason="no recipient address", **ignored)
            return
        try:
            message = email_outbox.render(self.records, ctx.runtime, action.template, values["id"])
        except RecordError:
            raise
        except Exception as exc:   # a template that cannot render fails the run, not the server
            log.exception("workflow %s: rendering email template %s", wf.name, action.template)
            raise WorkflowFailed(f"workflow '{wf.name}' failed at {action.path}: email template '{action.template}' "
                                 f"cannot be rendered ({type(exc).__name__}: {exc})",
                                 details={"workflow": wf.name, "step": action.path}) from None
        collected = _collected.get()
        if collected is not None:   # a dry run: what would be sent, nothing queued
            collected.append({"type": "email", "workflow": wf.name, "step": action.path, "template": action.template,
                              "to": to, "cc": cc, "subject": message.subject, "text": message.text,
                              "html": message.html})
            run.step(action.path, action.kind, action.label, to=to, cc=cc, subject=message.subject, **ignored)
            return
        outbox_id, job_id = email_outbox.queue_email(
            ctx.conn, to=to, cc=cc, message=message, template=action.template, workflow=wf.name,
            object_name=ctx.object_name, record_id=values["id"], version=ctx.runtime.version)
        run.step(action.path, action.kind, action.label, outbox_id=str(outbox_id), job_id=job_id, to=to, cc=cc,
                 subject=message.subject, **ignored)

    def _collect_webhook(self, ctx, wf, run, action: Action, values) -> None:
        """A dry run's webhook step: the request that would be sent (unsigned: no secret is read)."""
        spec = action.webhook
        event, data = webhooks.message_for_record(self.records, ctx, wf.name, spec, run.event, values)
        _collected.get().append({"type": "webhook", "workflow": wf.name, "step": action.path, "method": "POST",
                                 "url": spec.url, "credential": spec.credential, "event": event,
                                 "body": json.loads(webhooks.message_body(event, data, ctx.now))})
        run.step(action.path, action.kind, action.label, url=spec.url, event=event)

    def _submit_for_approval(self, ctx, wf, run, action: Action, values) -> None:
        """In the write's transaction; already pending or no process applying: skipped (noted);
        a step with nobody to approve fails the run (and the write) naming it."""
        if self.approvals is None:
            run.step(action.path, action.kind, action.label, "skipped", reason="approvals are not installed")
            return
        outcome = self.approvals.submit_from_workflow(ctx, action.process, values, source=f"workflow:{wf.name}")
        status = "skipped" if outcome.get("skipped") else "done"
        run.step(action.path, action.kind, action.label, status,
                 **{k: v for k, v in outcome.items() if k != "skipped"})

    def _branch(self, ctx, wf, run, action: Action, values, prior):
        taken = self._evaluate(ctx, wf, action, action.condition, values, prior) is True
        run.step(action.path, "if", action.label, branch="then" if taken else "else")
        return action.then if taken else action.otherwise

    def _evaluate(self, ctx, wf, action, compiled, values, prior):
        try:
            return ctx.evaluate(compiled, values, prior)
        except RecordError:
            raise
        except Exception as exc:   # an expression that cannot be computed fails the run, not the server
            log.exception("workflow %s: evaluating %s", wf.name, action.path)
            raise WorkflowFailed(f"workflow '{wf.name}' failed at {action.path}: cannot compute "
                                 f"'{compiled.text}' ({type(exc).__name__})",
                                 details={"workflow": wf.name, "step": action.path}) from None

    @staticmethod
    def _actor(ctx, wf) -> Actor:
        if wf.run_as == "triggering_user":
            return ctx.actor
        # the system's rights, the triggering user's name: records it creates are theirs by
        # default and show them as creator, as Salesforce does for system-context flows
        return Actor(user_id=ctx.actor.user_id, username=ctx.actor.username, is_system=True)

    @staticmethod
    def _input(ctx, object_name, fields: dict) -> dict:
        """Expression values as the record service takes input (decimals stay exact)."""
        obj = ctx.runtime.metadata.objects[object_name]
        out = {}
        for name, value in fields.items():
            f = obj.fields.get(name)
            out[name] = value if isinstance(value, Decimal) else to_api(value, f.type if f else None)
        return out


def _undo(step) -> None:
    if step is not None and step.is_active:
        step.rollback()


def _shown(fields: dict) -> dict:
    return {name: to_api(value) for name, value in fields.items()}
