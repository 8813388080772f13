"""Inbound webhooks: another system POSTs JSON to `/api/v1/hooks/<workflow>` and a workflow with
`trigger: {event: inbound_webhook, secret: <credential>, user: <username>, payload: {key: type}}`
creates records from it, or finds them by a key and updates them (keyed_writes.py).

    POST ─▶ accept(): the workflow is active and inbound (else 404) · the body is at most 1 MiB (413)
            · signed per the Standard Webhooks spec with the named credential's secret, its
            timestamp within 5 minutes of now (401; no credential: 503) · JSON (400) · its declared
            keys of their declared types (400) · its webhook-id not seen before (409)
          ─▶ in ONE transaction: the webhook-id remembered + a `workflow.inbound` job ─▶ 202 {run_id}
    worker ─▶ the run (that id): the actions, with payload.<key> in their expressions, through the
              record service as `user` ─▶ logged with event inbound_webhook: succeeded or failed

Why a job rather than running in the request: senders want a quick 2xx and retry otherwise; the
job queue gives the run the same retries, leases and dead-job handling as every other async step,
and the webhook-id and the job commit together (an accepted message always runs; one refused
before the commit may be sent again with the same id).

Typed payload: only the declared keys reach expressions, as text, integer, number (exact
decimal), boolean, date (YYYY-MM-DD) or datetime (ISO 8601; no offset: UTC); a missing key or
null is blank; other keys are ignored. The actions are create_record, upsert_record (create or
update by an external id or unique field), update_record with a match (update only: a key that
matches nothing fails the run, logged with the key it looked for) and if (validation): the values
still go through the record service, which checks them like any input. The run's record is the
first one a step created or matched on the workflow's object.

Replays: ids are kept REPLAY_WINDOW (longer than the 5 minutes either way a timestamp may be off,
so a message whose id was forgotten has a timestamp too old to verify).
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from ..records.errors import WorkflowFailed
from ..records.hooks import WriteContext
from ..records.ids import new_id
from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import inbound_webhook_ids, workflow_runs
from . import credentials, runlog
from .compiler import Workflow, workflows_of
from .handlers import register
from .queue import enqueue, utcnow

log = logging.getLogger(__name__)

KIND = "workflow.inbound"
MAX_BODY = 1024 * 1024
MAX_MESSAGE_ID = 200
REPLAY_WINDOW = timedelta(minutes=15)
MAX_ATTEMPTS = 5
RECORD_STEPS = ("create_record", "upsert_record", "update_record")   # steps whose output names a record


class Refused(Exception):
    """The request is refused: an HTTP status, a machine-readable code and a message."""

    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, **self.extra}


def inbound_workflow(services, name: str) -> Workflow:
    wf = workflows_of(services.runtimes.current()).by_name.get(name)
    if wf is None or wf.trigger != "inbound_webhook":
        raise Refused(404, "not_found", f"there is no active inbound webhook '{name}'")
    return wf


def accept(services, name: str, body: bytes, headers) -> dict:
    """Check and queue one request (see the module docstring); returns the 202 body."""
    wf = inbound_workflow(services, name)
    if len(body) > MAX_BODY:
        raise Refused(413, "too_large", f"the body is larger than {MAX_BODY // 1024} KiB")
    with begin_read(services.engine) as conn:
        try:
            secret = credentials.secret_of(conn, wf.secret, "webhook_signing")
        except credentials.CredentialError as exc:
            log.error("inbound webhook %s cannot verify requests: %s", name, exc)
            raise Refused(503, "not_configured", "this webhook cannot receive requests: its signing credential "
                                                 "is missing (an admin must create it)") from None
    signed = {key: headers.get(key) for key in ("webhook-id", "webhook-timestamp", "webhook-signature")
              if headers.get(key) is not None}
    try:
        Webhook(secret).verify(body, signed, json_parse=False)
    except WebhookVerificationError as exc:
        raise Refused(401, "bad_signature", f"the request is not signed for this webhook: {exc} (send "
                                            "webhook-id, webhook-timestamp and webhook-signature headers per the "
                                            "Standard Webhooks spec, timestamp within 5 minutes)") from None
    message_id = signed["webhook-id"]
    if len(message_id) > MAX_MESSAGE_ID:
        raise Refused(400, "bad_request", f"webhook-id is longer than {MAX_MESSAGE_ID} characters")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(document, dict):
        raise Refused(400, "invalid_payload", "the body must be a JSON object")
    payload = typed_payload(wf, document)
    run_id = new_id()
    now = utcnow()
    try:
        with begin_write(services.engine) as conn:
            conn.execute(delete(inbound_webhook_ids).where(inbound_webhook_ids.c.received_at < now - REPLAY_WINDOW))
            conn.execute(insert(inbound_webhook_ids).values(workflow=wf.name, message_id=message_id, received_at=now))
            enqueue(conn, KIND, {"workflow": wf.name, "run": str(run_id), "message_id": message_id,
                                 "payload": payload}, max_attempts=MAX_ATTEMPTS,
                    version=services.runtimes.current().version, now=now)
    except IntegrityError:
        raise Refused(409, "replayed", f"webhook-id '{message_id}' was received already") from None
    return {"run_id": str(run_id), "status": "accepted"}


# -- the payload: declared keys of declared types ------------------------------------------------
def typed_payload(wf: Workflow, document: dict) -> dict:
    """The declared keys, checked and as JSON; Refused (400) naming every key of the wrong type."""
    out, problems = {}, {}
    for key, kind in wf.payload:
        value = document.get(key)
        if value is None:
            out[key] = None
            continue
        try:
            _to_python(kind, value)
        except (TypeError, ValueError, InvalidOperation, OverflowError):
            problems[key] = [f"must be {_A.get(kind, kind)}"]
            continue
        out[key] = value
    if problems:
        raise Refused(400, "invalid_payload", "the payload has values of the wrong type: "
                      + ", ".join(sorted(problems)), fields=problems)
    return out


_A = {"text": "a text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
      "date": "a date (YYYY-MM-DD)", "datetime": "a date and time (ISO 8601)"}


def _to_python(kind: str, value):
    if kind == "text":
        if not isinstance(value, str):
            raise TypeError
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError
        return value
    if kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError
        number = Decimal(str(value))
        if not number.is_finite():
            raise ValueError
        if kind == "integer":
            if number != number.to_integral_value() or abs(number) >= 2 ** 63:
                raise ValueError
            return int(number)
        return number
    if not isinstance(value, str):
        raise TypeError
    if kind == "date":
        return date.fromisoformat(value)
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _env(wf: Workflow, payload: dict) -> dict:
    types = dict(wf.payload)
    return {("payload", key): None if value is None else _to_python(types[key], value)
            for key, value in payload.items() if key in types}


# -- the job: run the workflow --------------------------------------------------------------------
@register(KIND)
def run_inbound(job, context) -> None:
    services = context.services
    run_id = uuid.UUID(job["run"])
    rt = services.runtimes.current()
    wf = workflows_of(rt).by_name.get(job["workflow"])
    run = runlog.Run(workflow=job["workflow"], object=wf.object if wf else "", record_id=None, event="inbound_webhook",
                     timing="after_save", version=rt.version, actor=None, depth=1, id=run_id)
    run.step("trigger", "inbound_webhook", "received", message_id=job["message_id"])
    with begin_read(services.engine) as conn:         # a second run of this job: done already
        if conn.execute(select(workflow_runs.c.id).where(workflow_runs.c.id == run_id)).first() is not None:
            return
    if wf is None or wf.trigger != "inbound_webhook":
        run.status, run.error = "cancelled", f"the workflow '{job['workflow']}' is no longer an active inbound webhook"
        runlog.record_failures(services.engine, [run])
        return
    user = services.identity.find_user(wf.user)
    actor = services.identity.actor_for_user(user) if user and user.get("active") is not False else None
    if actor is None:
        run.fail(f"the webhook's user '{wf.user}' is not an active user")
        runlog.record_failures(services.engine, [run])
        return
    run.actor = actor.user_id
    env = _env(wf, job["payload"])
    hooks = services.records.hooks
    try:
        with begin_write(services.engine) as conn:
            now = utcnow()
            ctx = WriteContext(conn, rt, wf.object, actor, now,
                               lambda compiled, _values, _prior: compiled.evaluate(env, now=now))
            hooks.run_steps(ctx, wf, run, wf.actions, {})
            run.record_id = next((uuid.UUID(str(s["detail"]["record_id"])) for s in run.steps
                                  if s["action"] in RECORD_STEPS and s["status"] == "done"
                                  and s.get("detail", {}).get("object") == wf.object), None)
            runlog.record(conn, run)
    except WorkflowFailed as exc:   # nothing was created; the run says why
        hooks.record_failures(exc)
