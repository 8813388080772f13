"""Approval processes at run time: submit, approve, reject, recall — and the record lock.

Everything a submission or a decision does happens in ONE transaction, through the record
service's connection (`records.on_connection`): the request and its history rows, the record
lock, the approvers' work items and notifications, the final actions (workflow actions run by the
workflow engine, logged in the run log as `approval:<process>`). A failing final action rolls the
decision back, like a failing workflow rolls back its write (422 workflow_failed).

    submit     whoever may edit the record; the named process (or the first active one, by name,
               whose entry condition holds); 409 approval_pending when one is pending already,
               422 no_approval_process / entry_condition_not_met, 422 no_approver when a step
               resolves to nobody (unless it says when_no_approver: skip). Steps whose entry
               condition does not hold are skipped; with no step left the request is approved.
    approve    a pending approver of the current step: first_response decides the step,
    reject     unanimous waits for every approver; any rejection rejects the request. An
               administrator (customize_metadata, or modify_all on the object) may decide a step
               for its approvers. Others: 403 not_an_approver; a request no longer pending: 409.
    recall     the submitter or an administrator (403 not_the_submitter otherwise).

The lock (records.hooks.RecordLocks): while a request of a locking process is pending, updates
and deletes of the record are refused (409 record_locked) except by the current step's approvers,
administrators and automation (the system actor: final actions, workflows). Deleting a pending
record (as someone the lock lets through) recalls its request in the delete's transaction.

A request records the metadata version it was submitted under; it goes on with the process as
the metadata has it now (its steps and actions); the change pipeline refuses to remove a process
with pending requests (approval_guard.py).
"""
from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from ..records.errors import (BadQuery, Conflict, Forbidden, NotFound, RecordError, RecordLocked, ValidationFailed,
                              WorkflowFailed)
from ..security.actor import SYSTEM
from ..storage.engine import begin_read, begin_write, retry_on_stale_statements
from . import approval_store as store, notifications
from .approval_processes import Process, approvals_of
from .approvers import resolve_step

log = logging.getLogger(__name__)
DECISIONS = ("approve", "reject", "recall")
_OUTCOME = {"approve": "approved", "reject": "rejected", "recall": "recalled"}


class ApprovalPending(Conflict):
    code = "approval_pending"


class NotPending(Conflict):
    code = "approval_not_pending"


class NotAnApprover(Forbidden):
    code = "not_an_approver"


class NotTheSubmitter(Forbidden):
    code = "not_the_submitter"


class NoProcess(ValidationFailed):
    code = "no_approval_process"


class EntryConditionNotMet(ValidationFailed):
    code = "entry_condition_not_met"


class NoApprover(ValidationFailed):
    code = "no_approver"


def clean_comment(comment) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise ValidationFailed("comment: must be text", fields={"comment": ["must be text"]})
    if "\x00" in comment:
        raise ValidationFailed("comment: must not contain the NUL character",
                               fields={"comment": ["must not contain the NUL character"]})
    if len(comment) > store.MAX_COMMENT:
        raise ValidationFailed(f"comment: at most {store.MAX_COMMENT} characters",
                               fields={"comment": [f"at most {store.MAX_COMMENT} characters ({len(comment)} given)"]})
    return comment.strip()


def parse_request_id(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"there is no approval request '{value}'") from None


class ApprovalService:
    def __init__(self, records, workflows):
        self.records = records
        self.workflows = workflows

    @property
    def engine(self):
        return self.records.engine

    def install(self) -> "ApprovalService":
        self.records.locks = self          # the record service asks before updates and deletes
        self.workflows.approvals = self    # the submit_for_approval workflow action
        return self

    @contextmanager
    def _transaction(self):
        """A write transaction the record service's calls join; failed final-action runs are
        recorded once it has rolled back."""
        try:
            with begin_write(self.engine) as conn, self.records.on_connection(conn):
                yield conn
        except WorkflowFailed as exc:
            self.workflows.record_failures(exc)
            raise
        except IntegrityError:   # the one-pending-request-per-record index: a concurrent submission won
            raise ApprovalPending("the record was submitted for approval meanwhile") from None

    # -- submitting ---------------------------------------------------------------------------
    @retry_on_stale_statements
    def submit(self, actor, object_name: str, record_id, *, process: str | None = None, comment=None) -> dict:
        comment = clean_comment(comment)
        if process is not None and not isinstance(process, str):
            raise ValidationFailed("process: must be the name of an approval process", fields={"process": ["must be text"]})
        if not isinstance(object_name, str) or object_name not in self.records.runtime().objects:
            raise NotFound(f"there is no object '{object_name}'")
        with self._transaction() as conn:
            record = self.records.get(actor, object_name, record_id, fields=["id"], with_access=True)   # 404 unless visible
            if record["_access"] not in ("edit", "full"):
                raise Forbidden(f"you need edit access to this {object_name} to submit it for approval")
            rid = uuid.UUID(record["id"])
            ctx = self.records.automation_context(conn, object_name, actor)
            values = self.records.stored_row(conn, object_name, rid)
            request_id, _status = self._submit(conn, ctx, actor.user_id or values.get("owner"), values, process, comment)
            return self._detail(conn, request_id)

    def submit_from_workflow(self, ctx, process: str | None, values: dict, *, source: str) -> dict:
        """The submit_for_approval workflow action, in the triggering write's transaction: the
        submitter is the user whose change triggered it (for other triggers, the owner)."""
        pending = store.pending_for_record(ctx.conn, ctx.object_name, values["id"])
        if pending is not None:
            return {"skipped": True, "reason": "the record is already pending approval", "request": str(pending.id)}
        try:
            request_id, status = self._submit(ctx.conn, ctx, ctx.actor.user_id or values.get("owner"), values,
                                              process, "", source=source)
        except (NoProcess, EntryConditionNotMet) as exc:
            return {"skipped": True, "reason": exc.message}
        return {"request": str(request_id), "request_status": status}

    def _submit(self, conn, ctx, submitter, values, process_name, comment, *, source: str = "") -> tuple:
        process = self._choose(ctx, values, process_name)
        at = store.now()
        if store.pending_for_record(conn, ctx.object_name, values["id"]) is not None:
            raise ApprovalPending(f"this {ctx.object_name} is already pending approval")
        request_id = store.insert_request(conn, process=process.name, object_name=ctx.object_name,
                                          record_id=values["id"], submitter=submitter, locked=process.lock,
                                          version=ctx.runtime.version, comment=comment, at=at)
        store.add_item(conn, request_id, "submitted", at=at, user_id=submitter, comment=comment,
                       acted_by=ctx.actor.user_id, acted=True)
        status = self._start(conn, ctx, request_id, process, values, submitter, 0, at)
        log.info("approval request %s (%s) for %s %s: %s%s", request_id, process.name, ctx.object_name,
                 values["id"], status, f" ({source})" if source else "")
        return request_id, status

    def _choose(self, ctx, values, name: str | None) -> Process:
        compiled = approvals_of(ctx.runtime)
        if name is not None:
            process = compiled.by_name.get(name)
            if process is None or process.object != ctx.object_name:
                raise NoProcess(f"there is no approval process '{name}' for {ctx.object_name} records",
                                fields={"process": [f"there is no approval process '{name}' for {ctx.object_name}"]})
            if not process.active:
                raise NoProcess(f"the approval process '{name}' is inactive", fields={"process": ["is inactive"]})
            if not self._holds(ctx, process.condition, values, process.name):
                raise EntryConditionNotMet(f"the record does not meet the entry condition of '{process.label}'",
                                           details={"process": process.name})
            return process
        candidates = compiled.of_object(ctx.object_name)
        if not candidates:
            raise NoProcess(f"there is no active approval process for {ctx.object_name} records")
        for process in candidates:
            if self._holds(ctx, process.condition, values, process.name):
                return process
        raise EntryConditionNotMet(f"the record meets the entry condition of no approval process of {ctx.object_name} "
                                   f"({', '.join(p.name for p in candidates)})")

    def _holds(self, ctx, condition, values, where: str) -> bool:
        if condition is None:
            return True
        try:
            return ctx.evaluate(condition, values, None) is True
        except RecordError:
            raise
        except Exception as exc:   # a condition that cannot be computed refuses, never a 500
            log.exception("approval process %s: evaluating %s", where, condition.text)
            raise ValidationFailed(f"approval process '{where}': cannot compute '{condition.text}' "
                                   f"({type(exc).__name__})") from None

    def _start(self, conn, ctx, request_id, process: Process | None, values, submitter, first: int, at) -> str:
        """Start the first step from `first` that applies and has approvers; none left: approved."""
        for step in (process.steps[first:] if process is not None else ()):
            if not self._holds(ctx, step.condition, values, process.name):
                store.add_item(conn, request_id, "skipped", at=at, step=step.index, step_label=step.label,
                               comment="its entry condition does not hold", acted=True)
                continue
            approvers, reasons = resolve_step(self.records, ctx, step, submitter, values)
            if not approvers:
                why = "; ".join(reasons) or "its approvers resolve to nobody"
                if step.skip_when_empty:
                    store.add_item(conn, request_id, "skipped", at=at, step=step.index, step_label=step.label,
                                   comment=f"nobody to approve: {why}", acted=True)
                    continue
                raise NoApprover(f"step {step.index + 1} ({step.label}) of the approval process '{process.label}' "
                                 f"has nobody to approve: {why}",
                                 details={"process": process.name, "step": step.index + 1})
            store.add_work_items(conn, request_id, step.index, step.label, approvers, at)
            store.set_step(conn, request_id, step.index)
            self._tell(conn, ctx, approvers, values, "Approval requested", submitter,
                       f"{process.label} · {step.label}", source=process.name)
            return "pending"
        self._complete(conn, ctx, store.request_row(conn, request_id), process, values, "approve", at)
        return "approved"

    # -- deciding -----------------------------------------------------------------------------
    @retry_on_stale_statements
    def decide(self, actor, request_id, decision: str, comment=None) -> dict:
        if decision not in DECISIONS:
            raise BadQuery(f"decision must be one of: {', '.join(DECISIONS)}")
        comment = clean_comment(comment)
        rid = parse_request_id(request_id)
        with self._transaction() as conn:
            row = store.request_row(conn, rid)
            if row is None or not self._can_see(conn, actor, row):
                raise NotFound(f"there is no approval request '{request_id}'")
            # lock the record, then the request: the order every write takes (a delete of the
            # record locks it, then recalls the request), so two never wait on each other
            values = self.records.stored_row(conn, row.object, row.record_id)
            row = store.request_row(conn, rid, for_update=True)
            if row.status != "pending":
                raise NotPending(f"the approval request is {row.status}, no longer pending")
            if values is None:   # deleting a record recalls its request: only a race lands here
                raise NotPending("the record no longer exists")
            at = store.now()
            ctx = self.records.automation_context(conn, row.object, actor, at)
            process = self._process(ctx.runtime, row)
            admin = self._is_admin(ctx.runtime, actor, row.object)
            if decision == "recall":
                self._recall(conn, ctx, actor, row, process, values, comment, admin, at)
            else:
                self._answer(conn, ctx, actor, row, process, values, decision, comment, admin, at)
            return self._detail(conn, rid)

    def _answer(self, conn, ctx, actor, row, process, values, decision, comment, admin, at) -> None:
        pending = store.pending_items(conn, row.id, row.step)
        mine = [item.id for item in pending if item.user_id == actor.user_id]
        if not mine and not admin:
            raise NotAnApprover("you are not an approver of this request's current step")
        status = _OUTCOME[decision]
        step = process.step(row.step) if process is not None else None
        if mine:
            store.decide_items(conn, mine, status, comment=comment, acted_by=actor.user_id, at=at)
        else:   # an administrator deciding the step for its approvers
            store.add_item(conn, row.id, status, at=at, step=row.step, step_label=step.label if step else None,
                           user_id=actor.user_id, comment=comment, acted_by=actor.user_id, acted=True)
        if decision == "reject":
            self._complete(conn, ctx, row, process, values, "reject", at, decided_by=actor.user_id, comment=comment)
            return
        waiting = [item for item in pending if item.id not in mine]
        if mine and step is not None and step.unanimous and waiting:
            return   # unanimous: the others still have to approve
        store.close_pending(conn, row.id, at)
        self._start(conn, ctx, row.id, process, values, row.submitter, (row.step or 0) + 1, at)

    def _recall(self, conn, ctx, actor, row, process, values, comment, admin, at) -> None:
        if actor.user_id != row.submitter and not admin:
            raise NotTheSubmitter("only the submitter or an administrator can recall an approval request")
        approvers = store.close_pending(conn, row.id, at)
        store.add_item(conn, row.id, "recalled", at=at, user_id=actor.user_id, comment=comment,
                       acted_by=actor.user_id, acted=True)
        self._complete(conn, ctx, row, process, values, "recall", at)
        self._tell(conn, ctx, approvers, values, "Approval recalled", actor.user_id, comment,
                   source=row.process)

    def _complete(self, conn, ctx, row, process, values, outcome: str, at, *, decided_by=None, comment="") -> None:
        store.finish(conn, row.id, _OUTCOME[outcome], at)
        store.close_pending(conn, row.id, at)
        if process is not None:
            self.workflows.run_actions(ctx, process.final[outcome], _OUTCOME[outcome], values)
        if outcome != "recall":
            label = process.label if process is not None else row.process
            self._tell(conn, ctx, [row.submitter], values, _OUTCOME[outcome].capitalize(), decided_by or ctx.actor.user_id,
                       f"{label}" + (f" · {comment}" if comment else ""), source=row.process)

    # -- the record lock (records.hooks.RecordLocks) ----------------------------------------------
    def check(self, conn, runtime, object_name: str, record_id, actor, action: str) -> None:
        if not approvals_of(runtime).locks(object_name):
            return
        row = store.pending_for_record(conn, object_name, record_id)
        if row is None:
            return
        if row.locked and not actor.is_system and not self._is_admin(runtime, actor, object_name) \
                and not store.is_pending_approver(conn, row.id, actor.user_id):
            process = approvals_of(runtime).by_name.get(row.process)
            label = runtime.metadata.objects[object_name].label.lower()
            raise RecordLocked(f"this {label} is locked while it awaits approval"
                               f" ({process.label if process else row.process}): only its approvers and "
                               "administrators can change it until it is approved, rejected or recalled",
                               details={"approval_request": str(row.id), "process": row.process})
        if action == "delete":   # the record goes: so does its request, in the delete's transaction
            at = store.now()
            store.close_pending(conn, row.id, at)
            store.add_item(conn, row.id, "recalled", at=at, user_id=actor.user_id, comment="the record was deleted",
                           acted_by=actor.user_id, acted=True)
            store.finish(conn, row.id, "recalled", at)

    def locked_for(self, actor, object_name: str, record_id) -> dict | None:
        """The pending request locking the record against `actor` (what the UI hides edit
        controls for), else None."""
        rt = self.records.runtime()
        if not approvals_of(rt).locks(object_name):
            return None
        with begin_read(self.engine) as conn:
            row = store.pending_for_record(conn, object_name, _uuid_or_none(record_id))
            if row is None or not row.locked or actor.is_system or self._is_admin(rt, actor, object_name) \
                    or store.is_pending_approver(conn, row.id, actor.user_id):
                return None
            return {"id": str(row.id), "process": row.process}

    # -- reading --------------------------------------------------------------------------------
    def get(self, actor, request_id) -> dict:
        rid = parse_request_id(request_id)
        with begin_read(self.engine) as conn:
            row = store.request_row(conn, rid)
            if row is None or not self._can_see(conn, actor, row):
                raise NotFound(f"there is no approval request '{request_id}'")
            return self._detail(conn, rid)

    def list(self, actor, *, object_name=None, record_id=None, status=None, mine=False, limit=50,
             with_history=False) -> list[dict]:
        """Requests newest first: of one record (who can see it sees them), waiting for the
        caller (`mine`), else all (administrators) or those the caller submitted or took part in."""
        if status is not None and status not in store.STATUSES:
            raise BadQuery(f"status must be one of: {', '.join(store.STATUSES)}")
        rt = self.records.runtime()
        filters = {"object_name": object_name, "status": status, "limit": limit}
        if record_id is not None:
            if object_name is None:
                raise BadQuery("record_id needs object (the record's object)")
            if object_name not in rt.objects:
                raise NotFound(f"there is no object '{object_name}'")
            filters["record_id"] = uuid.UUID(self.records.get(actor, object_name, record_id, fields=["id"])["id"])
        elif mine:
            pass
        elif not rt.security.access_for(actor).system("customize_metadata"):
            filters["submitter_or_approver"] = actor.user_id
        if mine:
            filters["pending_for"] = actor.user_id
        with begin_read(self.engine) as conn:
            rows = store.find(conn, **filters)
            return self._shaped(conn, rt, rows, with_history=with_history)

    def waiting_count(self, actor) -> int:
        """How many pending requests wait for `actor`'s answer (the header's badge)."""
        if actor.user_id is None:
            return 0
        with begin_read(self.engine) as conn:
            return store.waiting_count(conn, actor.user_id)

    def applicable(self, object_name: str, record_id) -> list[Process]:
        """The active processes whose entry condition the saved record meets (what the record
        page offers to submit to)."""
        rt = self.records.runtime()
        candidates = approvals_of(rt).of_object(object_name)
        if not candidates:
            return []
        with begin_read(self.engine) as conn:
            row = self.records.stored_row(conn, object_name, record_id)
            if row is None:
                return []
            ctx = self.records.automation_context(conn, object_name, SYSTEM)
            out = []
            for process in candidates:
                try:
                    if self._holds(ctx, process.condition, row, process.name):
                        out.append(process)
                except RecordError:
                    continue
            return out

    def _detail(self, conn, request_id) -> dict:
        row = store.request_row(conn, request_id)
        return self._shaped(conn, self.records.runtime(), [row], with_history=True)[0]

    def _shaped(self, conn, rt, rows, *, with_history: bool) -> list[dict]:
        ids = [row.id for row in rows]
        waiting: dict = {}
        for row in rows:
            if row.status == "pending":
                waiting[row.id] = [item.user_id for item in store.pending_items(conn, row.id, row.step)]
        histories = store.history(conn, ids) if with_history else {}
        compiled = approvals_of(rt)
        names = self._record_names(rt, rows)
        return [store.request_as_api(row, process=self._process(rt, row, compiled), approvers=waiting.get(row.id, ()),
                                     record_name=names.get((row.object, row.record_id)),
                                     history_rows=histories.get(row.id) if with_history else None) for row in rows]

    def _record_names(self, rt, rows) -> dict:
        """(object, id) -> the record's name, read as the system: whoever may see a request learns
        which record it is about (as the approvers' notifications tell them), not more of it."""
        wanted: dict = {}
        for row in rows:
            wanted.setdefault(row.object, set()).add(row.record_id)
        names = {}
        for object_name, ids in wanted.items():
            obj = rt.metadata.objects.get(object_name)
            if obj is None or not obj.name_field:
                continue
            listed = ", ".join(f"'{rid}'" for rid in ids)   # canonical UUIDs: hex and dashes only
            found = self.records.query(SYSTEM, object_name, filter=f"id in [{listed}]", fields=["id", obj.name_field],
                                       limit=max(len(ids), 1))
            for record in found.records:
                names[(object_name, uuid.UUID(record["id"]))] = record.get(obj.name_field)
        return names

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _process(rt, row, compiled=None) -> Process | None:
        process = (compiled or approvals_of(rt)).by_name.get(row.process)
        return process if process is not None and process.object == row.object else None

    @staticmethod
    def _is_admin(rt, actor, object_name: str) -> bool:
        access = rt.security.access_for(actor)
        return access.system("customize_metadata") or access.can(object_name, "modify_all")

    def _can_see(self, conn, actor, row) -> bool:
        if actor.is_system or actor.user_id == row.submitter or store.took_part(conn, row.id, actor.user_id):
            return True
        rt = self.records.runtime()
        if rt.security.access_for(actor).system("customize_metadata"):
            return True
        try:
            self.records.get(actor, row.object, row.record_id, fields=["id"])
            return True
        except RecordError:
            return False

    def _tell(self, conn, ctx, users, values, what: str, by, detail: str, *, source: str) -> None:
        """One notification per user about the record (titles name it when it has a name)."""
        users = [u for u in users if u is not None]
        if not users:
            return
        obj = ctx.runtime.metadata.objects[ctx.object_name]
        name = values.get(obj.name_field) if obj.name_field else None
        who = _user_name(self.records, by)
        body = f"{obj.label}" + (f" “{name}”" if name else "") + (f" · by {who}" if who else "") + \
            (f" · {detail}" if detail else "")
        notifications.notify(conn, users, f"{what}: {name or obj.label}", body, object_name=ctx.object_name,
                             record_id=values["id"], source=f"approval:{source}")


def _user_name(records, user_id) -> str | None:
    if user_id is None:
        return None
    try:
        user = records.get(SYSTEM, "user", user_id, fields=["full_name", "username"])
    except RecordError:
        return None
    return user.get("full_name") or user.get("username")


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
