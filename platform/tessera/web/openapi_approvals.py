"""The OpenAPI description of `/approvals` (web/api_approvals.py): exactly what the server takes
and answers — every constraint here is one the server enforces, so a request the document calls
invalid is refused."""
from __future__ import annotations

from ..automation.approval_store import ITEM_STATUSES, MAX_COMMENT, STATUSES
from .openapi_fields import NO_NUL

_UUID = {"type": "string", "format": "uuid"}
_UUID_OR_NULL = {"type": ["string", "null"], "format": "uuid"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
NAME_PATTERN = "^[a-z][a-z0-9_]*(__[a-z][a-z0-9_]*)?$"
_COMMENT = {"type": "string", "maxLength": MAX_COMMENT, "pattern": NO_NUL,
            "description": f"Optional; at most {MAX_COMMENT} characters."}


def _error():
    return {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _request_json(description="the approval request"):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApprovalRequest"}}}}


def approval_schemas() -> dict:
    history = {"type": "object", "required": ["step", "step_label", "user", "status", "comment", "acted_by",
                                              "created_at", "acted_at"],
               "properties": {
                   "step": {"type": ["integer", "null"], "description": "the step's number (1, 2 ...); null for the "
                                                                         "submission and the recall"},
                   "step_label": {"type": ["string", "null"]},
                   "user": {**_UUID_OR_NULL, "description": "the approver (a work item), or who submitted / recalled"},
                   "status": {"type": "string", "enum": list(ITEM_STATUSES)},
                   "comment": {"type": "string"},
                   "acted_by": {**_UUID_OR_NULL, "description": "who answered: the approver, or an administrator "
                                                                "for the step's approvers"},
                   "created_at": {"type": "string", "format": "date-time"},
                   "acted_at": _TIME_OR_NULL}}
    request = {"type": "object",
               "required": ["id", "process", "process_label", "object", "record_id", "record_name", "status", "submitter", "step",
                            "step_label", "approvers", "locked", "version", "comment", "submitted_at",
                            "completed_at"],
               "properties": {
                   "id": _UUID, "process": {"type": "string"}, "process_label": {"type": "string"},
                   "object": {"type": "string"}, "record_id": _UUID,
                   "record_name": {"type": ["string", "null"], "description": "the record's name (its name field)"},
                   "status": {"type": "string", "enum": list(STATUSES)},
                   "submitter": _UUID,
                   "step": {"type": ["integer", "null"], "description": "the current step's number while pending"},
                   "step_label": {"type": ["string", "null"]},
                   "approvers": {"type": "array", "items": _UUID,
                                 "description": "the current step's approvers who have not answered yet"},
                   "locked": {"type": "boolean", "description": "pending, and the record is locked meanwhile"},
                   "version": {"type": ["integer", "null"], "description": "the metadata version it was submitted under"},
                   "comment": {"type": "string"}, "submitted_at": {"type": "string", "format": "date-time"},
                   "completed_at": _TIME_OR_NULL,
                   "history": {"type": "array", "items": {"$ref": "#/components/schemas/ApprovalHistoryEntry"},
                               "description": "in the order it happened (single requests only)"}}}
    return {
        "ApprovalHistoryEntry": history,
        "ApprovalRequest": request,
        "ApprovalList": {"type": "object", "required": ["approvals"], "properties": {
            "approvals": {"type": "array", "items": {"$ref": "#/components/schemas/ApprovalRequest"}}}},
        "ApprovalSubmit": {"type": "object", "required": ["object", "record_id"], "additionalProperties": False,
                           "properties": {
                               "object": {"type": "string", "description": "the record's object"},
                               "record_id": {"type": "string", "description": "the record's id"},
                               "process": {"type": "string", "description": "the approval process (default: the "
                                                                            "first active one whose entry condition holds)"},
                               "comment": _COMMENT}},
        "ApprovalDecision": {"type": "object", "additionalProperties": False, "properties": {"comment": _COMMENT}},
    }


def approval_paths() -> dict:
    id_param = {"name": "id", "in": "path", "required": True, "schema": _UUID}
    errors = {code: _error() for code in ("400", "401", "403", "404")}
    tags = ["approvals"]

    def decision(verb: str, summary: str, description: str) -> dict:
        return {"post": {
            "operationId": f"{verb}_approval", "summary": summary, "description": description, "tags": tags,
            "parameters": [id_param],
            "requestBody": {"required": False, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ApprovalDecision"}}}},
            "responses": {"200": _request_json(), **errors, "409": _error(), "422": _error()}}}

    return {
        "/approvals": {
            "get": {"operationId": "list_approvals", "summary": "Approval requests, newest first", "tags": tags,
                    "description": "With object and record_id: that record's requests (you must see the record). "
                                   "mine=true: the pending requests waiting for your answer. Otherwise every "
                                   "request (admins) or those you submitted or took part in.",
                    "parameters": [
                        {"name": "object", "in": "query", "schema": {"type": "string", "maxLength": 80,
                                                                      "pattern": NAME_PATTERN}},
                        {"name": "record_id", "in": "query", "schema": {"type": "string"},
                         "description": "a record id (needs object)"},
                        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
                        {"name": "mine", "in": "query", "schema": {"type": "boolean", "default": False}},
                        {"name": "limit", "in": "query",
                         "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}],
                    "responses": {"200": {"description": "requests", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ApprovalList"}}}}, **errors}},
            "post": {"operationId": "submit_approval", "summary": "Submit a record for approval", "tags": tags,
                     "description": "You need edit access to the record. 409 when it is pending approval already; "
                                    "422 when no process applies or a step has nobody to approve.",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/ApprovalSubmit"}}}},
                     "responses": {"201": _request_json("submitted"), **errors, "409": _error(), "422": _error()}},
        },
        "/approvals/{id}": {"get": {"operationId": "get_approval", "summary": "An approval request and its history",
                                    "tags": tags, "parameters": [id_param],
                                    "responses": {"200": _request_json(), **errors}}},
        "/approvals/{id}/approve": decision("approve", "Approve the current step",
                                            "For the current step's approvers (or an administrator)."),
        "/approvals/{id}/reject": decision("reject", "Reject the request",
                                           "For the current step's approvers (or an administrator)."),
        "/approvals/{id}/recall": decision("recall", "Recall the request", "For the submitter (or an administrator)."),
    }
