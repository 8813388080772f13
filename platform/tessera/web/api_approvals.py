"""`/api/v1/approvals`: submit records for approval, answer, recall (automation/approvals.py).

    POST /api/v1/approvals                       {object, record_id, process?, comment?} → 201 the request
    GET  /api/v1/approvals?object=&record_id=&status=&mine=true&limit=
                                                 a record's requests; mine=true: waiting for my answer;
                                                 else all (admins) or those I submitted or took part in
    GET  /api/v1/approvals/{id}                  one request with its history
    POST /api/v1/approvals/{id}/approve|reject|recall   {comment?} → 200 the request

Bad input is refused before the service runs (422 naming the field, 400 for the query); the
service answers 403 not_an_approver / not_the_submitter, 404, 409 approval_pending /
approval_not_pending, 422 no_approval_process / entry_condition_not_met / no_approver.
"""
from __future__ import annotations

import re

from flask import g, jsonify, request

from ..records.errors import BadQuery, ValidationFailed
from .api import _json_body, api, services
from .api_automation import _limit

NAME = re.compile(r"[a-z][a-z0-9_]*(__[a-z][a-z0-9_]*)?")
SUBMIT_KEYS = ("object", "record_id", "process", "comment")
LIST_PARAMS = ("object", "record_id", "status", "mine", "limit")


def _text_fields(body: dict, allowed, required=()) -> None:
    """Unknown keys, missing required ones and values that are not text: one 422 naming each."""
    problems = {key: ["is not a field of this request"] for key in body if key not in allowed}
    for key in required:
        if key not in body:
            problems[key] = ["is required"]
    for key in allowed:
        if key in body and not isinstance(body[key], str):
            problems[key] = ["must be text"]
    if problems:
        raise ValidationFailed("invalid request: " + ", ".join(f"{k}: {m[0]}" for k, m in problems.items()),
                               fields=problems)


def _optional_body() -> dict:
    """A decision's body is optional: nothing, or a JSON object."""
    if not request.get_data(cache=True).strip():
        return {}
    return _json_body(dict)


@api.post("/approvals")
def submit_approval():
    body = _json_body(dict)
    _text_fields(body, SUBMIT_KEYS, required=("object", "record_id"))
    result = services().approvals.submit(g.actor, body["object"], body["record_id"], process=body.get("process"),
                                         comment=body.get("comment"))
    return jsonify(result), 201


@api.get("/approvals")
def list_approvals():
    unknown = set(request.args) - set(LIST_PARAMS)
    if unknown:
        raise BadQuery(f"unknown parameter: {', '.join(sorted(unknown))} (filters: {', '.join(LIST_PARAMS)})")
    mine = request.args.get("mine", "false")
    if mine not in ("true", "false"):
        raise BadQuery("mine must be true or false")
    object_name = request.args.get("object")
    if object_name is not None and (len(object_name) > 80 or not NAME.fullmatch(object_name)):
        raise BadQuery(f"object: {object_name[:80]!r} is not an object name")
    found = services().approvals.list(g.actor, object_name=object_name, record_id=request.args.get("record_id"),
                                      status=request.args.get("status"), mine=mine == "true", limit=_limit())
    return jsonify(approvals=found)


@api.get("/approvals/<request_id>")
def get_approval(request_id: str):
    return jsonify(services().approvals.get(g.actor, request_id))


def _decide(request_id: str, decision: str):
    body = _optional_body()
    _text_fields(body, ("comment",))
    return jsonify(services().approvals.decide(g.actor, request_id, decision, body.get("comment")))


@api.post("/approvals/<request_id>/approve")
def approve_approval(request_id: str):
    return _decide(request_id, "approve")


@api.post("/approvals/<request_id>/reject")
def reject_approval(request_id: str):
    return _decide(request_id, "reject")


@api.post("/approvals/<request_id>/recall")
def recall_approval(request_id: str):
    return _decide(request_id, "recall")
