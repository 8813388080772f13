"""POST /api/v1/hooks/<workflow>: inbound webhooks (automation/inbound.py).

No session or token: the request is authenticated by its Standard Webhooks signature, made with
the secret of the workflow's named credential. Answers: 202 {run_id, status: accepted}; 400 not
JSON or a payload value of the wrong type; 401 a missing or bad signature or a timestamp more
than 5 minutes off; 404 no active inbound webhook of that name; 409 a webhook-id received
already; 413 a body over 1 MiB; 503 its credential is missing. Every error body is
{"error": {"code", "message"}} like the rest of the API.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..automation import inbound

hooks = Blueprint("hooks", __name__)


@hooks.post("/<name>")
def receive(name: str):
    services = current_app.extensions["tessera"]
    try:
        inbound.inbound_workflow(services, name)      # an unknown hook is 404 before its body is read
        if (request.content_length or 0) > inbound.MAX_BODY:
            raise inbound.Refused(413, "too_large", f"the body is larger than {inbound.MAX_BODY // 1024} KiB")
        body = request.stream.read(inbound.MAX_BODY + 1)
        accepted = inbound.accept(services, name, body, request.headers)
    except inbound.Refused as exc:
        return jsonify(error=exc.to_dict()), exc.status
    return jsonify(accepted), 202
