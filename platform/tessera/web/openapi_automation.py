"""The OpenAPI description of the automation routes (web/api_automation.py): the workflow run log
and retry, manual runs, notifications, the email outbox and the webhook delivery log. Exactly what
the server takes and answers. Admin-only routes are described only to callers who may call them,
as the rest of the document shows only what the caller may see (web/openapi.py)."""
from __future__ import annotations

from ..automation import email_outbox, runlog, webhooks
from ..automation.deferred import MAX_MANUAL_RECORDS
from .openapi_approvals import NAME_PATTERN
from .openapi_fields import NO_NUL

MAX_LIMIT = 500               # api_automation._limit
MAX_READ_IDS = 500            # POST /notifications/read
DELIVERY_ID_PATTERN = webhooks.DELIVERY_ID_PATTERN
RUN_RESULTS = ("succeeded", "skipped", "failed", "refused", "waiting")

_UUID = {"type": "string", "format": "uuid"}
_UUID_OR_NULL = {"type": ["string", "null"], "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}
_NAME = {"type": "string", "maxLength": 80, "pattern": NAME_PATTERN}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _error() -> dict:
    return {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}


def _object(properties: dict, optional: tuple[str, ...] = ()) -> dict:
    """An object whose every property is always present, except `optional` ones."""
    return {"type": "object", "required": [k for k in properties if k not in optional], "properties": properties}


def _limit(default: int = 50) -> dict:
    return {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                        "default": default}}


def automation_schemas() -> dict:
    step = _object({"step": {"type": "string", "description": "where the step is in the workflow: actions.1.then.0"},
                    "action": {"type": "string"}, "label": {"type": "string"},
                    "status": {"type": "string", "description": "done, skipped or failed"},
                    "detail": {"type": "object", "description": "the step's inputs, outputs or error"}},
                   optional=("detail",))
    run = _object({
        "id": _UUID, "workflow": {"type": "string"}, "object": {"type": "string"}, "record_id": _UUID_OR_NULL,
        "event": {"type": "string", "description": "what started it: create, update, delete, time_relative, "
                                                   "scheduled, manual, or an approval's outcome"},
        "timing": {"type": "string"}, "status": {"type": "string", "enum": list(runlog.STATUSES)},
        "version": {**_INT_OR_NULL, "description": "the metadata version it ran under"},
        "actor": _UUID_OR_NULL, "depth": {"type": "integer"}, "started_at": _TIME, "finished_at": _TIME_OR_NULL,
        "steps": {"type": "array", "items": _ref("WorkflowRunStep")}, "error": _TEXT_OR_NULL,
        "failed_step": {**_TEXT_OR_NULL, "description": "the step that failed (a failed run)"},
        "resume_at": {**_TIME_OR_NULL, "description": "a waiting run: when its wait step ends and it continues"},
        "retry_of": {**_UUID_OR_NULL, "description": "the failed run this one retried"},
        "retried_by": {**_UUID_OR_NULL, "description": "the run that retried this one"}})
    notification = _object({
        "id": _UUID, "title": {"type": "string"}, "body": {"type": "string"}, "object": _TEXT_OR_NULL,
        "record_id": _UUID_OR_NULL, "source": {"type": "string"}, "created_at": _TIME, "read": {"type": "boolean"},
        "read_at": _TIME_OR_NULL})
    email = _object({
        "id": _UUID, "status": {"type": "string", "enum": list(email_outbox.STATUSES)},
        "to": {"type": "array", "items": {"type": "string"}}, "cc": {"type": "array", "items": {"type": "string"}},
        "subject": {"type": "string"}, "text": {"type": "string"}, "html": _TEXT_OR_NULL,
        "attempts": {"type": "integer"}, "last_error": _TEXT_OR_NULL, "created_at": _TIME, "sent_at": _TIME_OR_NULL,
        "template": {"type": "string"}, "workflow": _TEXT_OR_NULL, "object": _TEXT_OR_NULL,
        "record_id": _UUID_OR_NULL, "message_id": {"type": "string"}, "job_id": _INT_OR_NULL})
    attempt = _object({"attempt": {"type": "integer"}, "at": _TIME, "status_code": _INT_OR_NULL,
                       "response": _TEXT_OR_NULL, "error": _TEXT_OR_NULL, "duration_ms": _INT_OR_NULL})
    delivery = _object({
        "id": {"type": "string", "pattern": DELIVERY_ID_PATTERN, "description": "the webhook-id header"},
        "workflow": {"type": "string"}, "object": _TEXT_OR_NULL, "record_id": _UUID_OR_NULL,
        "url": {"type": "string"}, "event": {"type": "string"},
        "status": {"type": "string", "enum": list(webhooks.STATUSES)}, "attempts": {"type": "integer"},
        "last_status_code": _INT_OR_NULL, "last_response": _TEXT_OR_NULL, "last_error": _TEXT_OR_NULL,
        "created_at": _TIME, "last_attempt_at": _TIME_OR_NULL, "delivered_at": _TIME_OR_NULL,
        "request": _object({"method": {"type": "string"}, "url": {"type": "string"}, "webhook_id": {"type": "string"},
                            "body": {"description": "the JSON sent, signed, on every attempt"}}),
        "attempt_log": {"type": "array", "items": attempt}}, optional=("request", "attempt_log"))
    return {
        "WorkflowRunStep": step,
        "WorkflowRun": run,
        "WorkflowRunList": _object({"runs": {"type": "array", "items": _ref("WorkflowRun")}}),
        "WorkflowRunRetry": _object({
            "run": {**_ref("WorkflowRun"), "description": "the new run: its status is the retry's outcome"},
            "original": {**_ref("WorkflowRun"), "description": "the failed run, now retried_by the new one"}}),
        "ManualRun": {"type": "object", "required": ["records"], "additionalProperties": False, "properties": {
            "records": {"type": "array", "minItems": 1, "maxItems": MAX_MANUAL_RECORDS,
                        "items": {"type": "string", "pattern": NO_NUL}, "description": "record ids"}}},
        "ManualRunResults": _object({"results": {"type": "array", "items": _object({
            "record_id": {"type": "string"}, "status": {"type": "string", "enum": list(RUN_RESULTS)},
            "run_id": {**_UUID, "description": "the run (succeeded, failed: retry it from its failed step)"},
            "reason": {"type": "string", "description": "why it was skipped"},
            "error": {"type": "object", "description": "why it failed or was refused (code, message ...)"}},
            optional=("run_id", "reason", "error"))}}),
        "Notification": notification,
        "NotificationList": _object({"notifications": {"type": "array", "items": _ref("Notification")},
                                     "unread": {"type": "integer"}}),
        "NotificationsRead": {"oneOf": [
            {"type": "object", "required": ["ids"], "additionalProperties": False, "properties": {
                "ids": {"type": "array", "maxItems": MAX_READ_IDS, "items": _UUID}}},
            {"type": "object", "required": ["all"], "additionalProperties": False, "properties": {
                "all": {"const": True}}}]},
        "NotificationsMarked": _object({"marked": {"type": "integer"}, "unread": {"type": "integer"}}),
        "EmailOutboxList": _object({"emails": {"type": "array", "items": email}}),
        "WebhookDelivery": delivery,
        "WebhookDeliveryList": _object({
            "deliveries": {"type": "array", "items": _ref("WebhookDelivery")},
            "disabled_endpoints": {"type": "array", "items": _object({
                "url": {"type": "string"}, "disabled_at": _TIME, "reason": {"type": "string"}})}}),
        "WebhookReplay": _object({"delivery": _ref("WebhookDelivery"),
                                  "job": {"type": "integer", "description": "the job that sends it"}}),
    }


def automation_paths(runtime, access) -> dict:
    """The automation routes `access` may call: every user has the inbox, manual runs and the runs
    of records they see; the run log, retries and webhook deliveries need customize_metadata, the
    email outbox customize_metadata or manage_users."""
    errors = {code: _error() for code in ("400", "401", "403", "404")}
    readable = sorted(name for name in runtime.metadata.objects if access.can(name, "read"))
    paths: dict = {
        "/notifications": {"get": {
            "operationId": "list_notifications", "summary": "Your in-app notifications, newest first",
            "tags": ["notifications"],
            "parameters": [{"name": "unread", "in": "query", "schema": {"type": "boolean", "default": False},
                            "description": "only the unread ones"}, _limit()],
            "responses": {"200": _json("NotificationList"), "400": _error(), "401": _error()}}},
        "/notifications/read": {"post": {
            "operationId": "read_notifications", "summary": "Mark notifications read",
            "description": 'Either {"ids": [...]} (yours; others\' are never touched) or {"all": true}.',
            "tags": ["notifications"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("NotificationsRead")}}},
            "responses": {"200": _json("NotificationsMarked"), "400": _error(), "401": _error(), "422": _error()}}},
        "/workflows/{name}/run": {"post": {
            "operationId": "run_manual_workflow", "summary": "Run a manual workflow on records",
            "description": "Each record in a transaction of its own; you need edit access to each. A failed "
                           "record's run keeps the steps before its failure and can be retried (admins).",
            "tags": ["workflows"],
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": _NAME}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ManualRun")}}},
            "responses": {"200": _json("ManualRunResults", "each record's outcome"), **errors, "422": _error()}}},
    }
    if readable:
        paths["/records/{object}/{id}/workflow-runs"] = {"get": {
            "operationId": "list_record_workflow_runs", "summary": "The workflow runs a record triggered",
            "description": "Newest first; you must see the record.", "tags": ["workflows"],
            "parameters": [{"name": "object", "in": "path", "required": True, "schema": {"type": "string",
                                                                                         "enum": readable}},
                           {"name": "id", "in": "path", "required": True, "schema": _UUID}, _limit()],
            "responses": {"200": _json("WorkflowRunList"), **errors}}}
    if access.system("customize_metadata"):
        paths.update(_admin_paths(errors))
    if access.system("customize_metadata") or access.system("manage_users"):
        paths["/email-outbox"] = {"get": {
            "operationId": "list_email_outbox", "summary": "The email outbox, newest first", "tags": ["email"],
            "description": "Admins (customize_metadata or manage_users): messages workflows sent and their status.",
            "parameters": [{"name": "status", "in": "query",
                            "schema": {"type": "string", "enum": list(email_outbox.STATUSES)}}, _limit()],
            "responses": {"200": _json("EmailOutboxList"), "400": _error(), "401": _error(), "403": _error()}}}
    return paths


def _admin_paths(errors: dict) -> dict:
    delivery_id = {"name": "id", "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": DELIVERY_ID_PATTERN}}
    return {
        "/workflow-runs": {"get": {
            "operationId": "list_workflow_runs", "summary": "The workflow run log, newest first",
            "tags": ["workflows"], "description": "Admins (customize_metadata).",
            "parameters": [{"name": "workflow", "in": "query", "schema": {"type": "string", "maxLength": 80,
                                                                          "pattern": NO_NUL},
                            "description": "a workflow's name, or approval:<process> for an approval's final actions"},
                           {"name": "object", "in": "query", "schema": _NAME},
                           {"name": "record", "in": "query", "schema": _UUID, "description": "a record id"},
                           {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(runlog.STATUSES)}},
                           _limit()],
            "responses": {"200": _json("WorkflowRunList"), "400": _error(), "401": _error(), "403": _error()}}},
        "/workflow-runs/{id}/retry": {"post": {
            "operationId": "retry_workflow_run", "summary": "Retry a failed run from its failed step",
            "tags": ["workflows"],
            "description": "A new run (retry_of: this one) under the active metadata version runs the failed step "
                           "and those after it; the steps before it stay done. Only failed time-relative, scheduled "
                           "or manual runs, once each. 409 codes: run_not_failed, run_already_retried, "
                           "write_rolled_back (a record-triggered run: save the record again), workflow_unavailable, "
                           "step_unavailable, record_deleted.",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": _UUID}],
            "responses": {"200": _json("WorkflowRunRetry", "retried: the new run's status is the outcome"),
                          **errors, "409": _error()}}},
        "/webhook-deliveries": {"get": {
            "operationId": "list_webhook_deliveries", "summary": "The webhook delivery log, newest first",
            "tags": ["webhooks"], "description": "Admins (customize_metadata); with the disabled endpoints.",
            "parameters": [{"name": "status", "in": "query",
                            "schema": {"type": "string", "enum": list(webhooks.STATUSES)}}, _limit()],
            "responses": {"200": _json("WebhookDeliveryList"), "400": _error(), "401": _error(), "403": _error()}}},
        "/webhook-deliveries/{id}": {"get": {
            "operationId": "get_webhook_delivery", "summary": "One delivery: its request and every attempt",
            "tags": ["webhooks"], "parameters": [delivery_id],
            "responses": {"200": _json("WebhookDelivery"), **errors}}},
        "/webhook-deliveries/{id}/replay": {"post": {
            "operationId": "replay_webhook_delivery", "summary": "Send a delivery again (the same webhook-id)",
            "tags": ["webhooks"], "description": "409 while it is pending, or when its endpoint is disabled.",
            "parameters": [delivery_id],
            "responses": {"202": _json("WebhookReplay", "queued"), **errors, "409": _error()}}},
    }
