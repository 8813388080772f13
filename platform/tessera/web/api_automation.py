"""`/api/v1` routes of automation: the workflow run log, notifications, the email outbox, the webhook
delivery log.

    GET /api/v1/workflow-runs                          admins (customize_metadata): every run
    POST /api/v1/workflow-runs/{id}/retry              admins: retry a failed run from its failed step
    GET /api/v1/records/{object}/{id}/workflow-runs    whoever can see the record: the runs it triggered
    GET /api/v1/email-outbox                           admins (customize_metadata or manage_users)
    GET /api/v1/webhook-deliveries[?status=&limit=]    admins: the webhook delivery log (and disabled endpoints)
    GET /api/v1/webhook-deliveries/{id}                admins: one delivery, its request and every attempt
    POST /api/v1/webhook-deliveries/{id}/replay        admins: send it again (the same webhook-id)
    POST /api/v1/workflows/{name}/dry-run              admins: what the workflow (or a draft) would do
                                                       to a record, rolled back (automation/dry_run.py)
"""
from __future__ import annotations

import re
import uuid

from flask import g, jsonify, request

from ..automation import runlog
from ..records.errors import BadQuery, Conflict, Forbidden, NotFound, ValidationFailed
from .api import _DIGITS, api, services

_FILTERS = ("workflow", "object", "record", "status")
_NAME = re.compile(r"[a-z][a-z0-9_]*(__[a-z][a-z0-9_]*)?")   # a workflow or object name (openapi_approvals)


def _limit() -> int:
    text = request.args.get("limit", "50")
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= 500:
        raise BadQuery("limit must be an integer from 1 to 500")
    return int(text)


def _record_id(text: str):
    from ..records.ids import id_from_text
    found = id_from_text(text)
    if found is None:
        raise BadQuery(f"record: '{text[:80]}' is not a record id")
    return found


@api.get("/workflow-runs")
def workflow_runs():
    access = services().runtimes.current().security.access_for(g.actor)
    if not access.system("customize_metadata"):
        raise Forbidden("the workflow run log is for admins (customize_metadata)")
    unknown = set(request.args) - {*_FILTERS, "limit"}
    if unknown:
        raise BadQuery(f"unknown parameter: {', '.join(sorted(unknown))} (filters: {', '.join(_FILTERS)}, limit)")
    status = request.args.get("status")
    if status is not None and status not in runlog.STATUSES:
        raise BadQuery(f"status must be one of: {', '.join(runlog.STATUSES)}")
    workflow, object_name = request.args.get("workflow"), request.args.get("object")
    if workflow is not None and (len(workflow) > 80 or "\x00" in workflow):   # approval:<process> runs too
        raise BadQuery("workflow: at most 80 characters, without NUL")
    if object_name is not None and (len(object_name) > 80 or not _NAME.fullmatch(object_name)):
        raise BadQuery(f"object: '{object_name[:80]}' is not an object name")
    record = request.args.get("record")
    found = runlog.runs(services().engine, workflow=workflow, object_name=object_name,
                        record_id=_record_id(record) if record is not None else None, status=status, limit=_limit())
    return jsonify(runs=found)


@api.post("/workflow-runs/<run_id>/retry")
def retry_workflow_run(run_id: str):
    """200 {"run": the new run (its status is the retry's outcome), "original": the failed run};
    409 with a code saying why a run cannot be retried (automation/retry.py)."""
    from ..automation.retry import retry_run
    return jsonify(retry_run(services(), g.actor, run_id))


@api.get("/records/<object_name>/<record_id>/workflow-runs")
def record_workflow_runs(object_name: str, record_id: str):
    record = services().records.get(g.actor, object_name, record_id, fields=["id"])   # 404 unless visible
    found = runlog.runs(services().engine, object_name=object_name, record_id=uuid.UUID(record["id"]),
                        limit=_limit())
    return jsonify(runs=found)


# -- in-app notifications: the caller's own inbox ------------------------------------------------
@api.get("/notifications")
def notification_inbox():
    from ..automation import notifications
    unread_only = request.args.get("unread", "false")
    if unread_only not in ("true", "false"):
        raise BadQuery("unread must be true or false")
    user_id = g.actor.user_id
    return jsonify(notifications=notifications.inbox(services().engine, user_id, unread_only=unread_only == "true",
                                                     limit=_limit()),
                   unread=notifications.unread_count(services().engine, user_id))


@api.post("/notifications/read")
def notifications_read():
    """Body {"ids": [...]} marks those read, {"all": true} every one; others' notifications are never touched."""
    from ..automation import notifications
    from .api import _json_body
    body = _json_body(dict)
    if set(body) - {"ids", "all"} or ("ids" in body) == ("all" in body):
        raise ValidationFailed('give either "ids" (a list of notification ids) or "all": true')
    if "all" in body:
        if body["all"] is not True:
            raise ValidationFailed('"all" must be true')
        ids = None
    else:
        if not isinstance(body["ids"], list) or len(body["ids"]) > 500:
            raise ValidationFailed('"ids" must be a list of at most 500 notification ids')
        from ..records.ids import id_from_text
        ids = [found for found in map(id_from_text, body["ids"]) if found is not None]
        if len(ids) != len(body["ids"]):
            raise ValidationFailed('"ids" must be notification ids')
    marked = notifications.mark_read(services().engine, g.actor.user_id, ids)
    return jsonify(marked=marked, unread=notifications.unread_count(services().engine, g.actor.user_id))


# -- manual workflows ----------------------------------------------------------------------------
@api.post("/workflows/<name>/run")
def run_workflow(name: str):
    """Body {"records": [ids]}: run the manual workflow on each (one transaction per record).
    200 with each record's outcome: succeeded (run_id), skipped (its condition does not hold),
    failed (run_id and the workflow's error; the steps before the failed one stay done, and the run
    can be retried from the failed step) or refused (not visible or read-only)."""
    from ..automation.deferred import run_manual
    from .api import _json_body
    body = _json_body(dict)
    if set(body) != {"records"}:
        raise ValidationFailed('the body must be {"records": [record ids]}')
    return jsonify(results=run_manual(services(), g.actor, name, body["records"]))


@api.post("/workflows/<name>/dry-run")
def dry_run_workflow(name: str):
    """Body {"record_id": id, "definition": optional draft document}: 200 with what would happen
    (condition, steps with before → after, created records, emails, webhook requests); nothing is
    saved or sent. 403 without customize_metadata, 404 unknown workflow or record, 422 a bad draft
    (each problem with its path)."""
    from ..automation.dry_run import dry_run
    from .api import _json_body
    _require_setup_rights("testing a workflow")
    body = _json_body(dict)
    unknown = set(body) - {"record_id", "definition"}
    if unknown or "record_id" not in body:
        raise ValidationFailed('the body must be {"record_id": a record id, "definition": an optional workflow draft}'
                               + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else ""))
    if not isinstance(body["record_id"], str) or not body["record_id"].strip():
        raise ValidationFailed('"record_id" must be a record id (text)')
    return jsonify(dry_run(services(), g.actor, name, body["record_id"].strip(), body.get("definition")))


# -- the email outbox: admins ---------------------------------------------------------------------
@api.get("/email-outbox")
def email_outbox_list():
    """GET /api/v1/email-outbox?status=queued|sent|failed&limit=N — admins (customize_metadata or
    manage_users): the messages workflows sent, newest first, with their delivery status."""
    from ..automation import email_outbox
    access = services().runtimes.current().security.access_for(g.actor)
    if not (access.system("customize_metadata") or access.system("manage_users")):
        raise Forbidden("the email outbox is for admins (customize_metadata or manage_users)")
    unknown = set(request.args) - {"status", "limit"}
    if unknown:
        raise BadQuery(f"unknown parameter: {', '.join(sorted(unknown))} (status, limit)")
    status = request.args.get("status")
    if status is not None and status not in email_outbox.STATUSES:
        raise BadQuery(f"status must be one of: {', '.join(email_outbox.STATUSES)}")
    return jsonify(emails=email_outbox.outbox(services().engine, status=status, limit=_limit()))


# -- outgoing webhooks: the delivery log and replay (admins) ----------------------------------------
def _require_setup_rights(what: str) -> None:
    access = services().runtimes.current().security.access_for(g.actor)
    if not access.system("customize_metadata"):
        raise Forbidden(f"{what} is for admins (customize_metadata)")


@api.get("/webhook-deliveries")
def webhook_deliveries():
    from ..automation import webhooks
    _require_setup_rights("the webhook delivery log")
    unknown = set(request.args) - {"status", "limit"}
    if unknown:
        raise BadQuery(f"unknown parameter: {', '.join(sorted(unknown))} (filters: status, limit)")
    status = request.args.get("status")
    if status is not None and status not in webhooks.STATUSES:
        raise BadQuery(f"status must be one of: {', '.join(webhooks.STATUSES)}")
    return jsonify(deliveries=webhooks.list_deliveries(services().engine, status=status, limit=_limit()),
                   disabled_endpoints=webhooks.disabled_endpoints(services().engine))


def _delivery_id(text: str) -> str:
    from ..automation import webhooks
    if not re.fullmatch(webhooks.DELIVERY_ID_PATTERN, text):
        raise NotFound(f"there is no webhook delivery '{text[:80]}'")
    return text


@api.get("/webhook-deliveries/<delivery_id>")
def webhook_delivery(delivery_id: str):
    from ..automation import webhooks
    _require_setup_rights("the webhook delivery log")
    found = webhooks.get_delivery(services().engine, _delivery_id(delivery_id))
    if found is None:
        raise NotFound(f"there is no webhook delivery '{delivery_id}'")
    return jsonify(found)


@api.post("/webhook-deliveries/<delivery_id>/replay")
def webhook_replay(delivery_id: str):
    """Send a delivery again with the same webhook-id (a new job; the attempts go on counting)."""
    from ..automation import webhooks
    _require_setup_rights("replaying webhooks")
    try:
        job_id = webhooks.replay(services().engine, _delivery_id(delivery_id))
    except LookupError:
        raise NotFound(f"there is no webhook delivery '{delivery_id}'") from None
    except webhooks.WebhookError as exc:
        raise Conflict(str(exc)) from None
    return jsonify(delivery=webhooks.get_delivery(services().engine, delivery_id), job=job_id), 202
