"""The OpenAPI description of the inbound webhooks (web/api_hooks.py): one POST /hooks/<name> per
active inbound_webhook workflow, its request body the workflow's declared payload keys and types,
the three Standard Webhooks headers, and every answer the route gives.

Shown to admins (customize_metadata) only: the routes take no token — a request is authenticated
by its signature, made with a named credential's secret that admins set — so the callers are other
systems an admin configures, and the payload contract of each integration is the org's business,
not every API user's (web/openapi.py shows each caller what they may use).
"""
from __future__ import annotations

from ..automation import inbound
from ..automation.compiler import workflows_of

# a payload type (workflow.schema.json trigger.payload) -> its JSON Schema; null or missing is blank
_TYPES = {"text": {"type": ["string", "null"]},
          "integer": {"type": ["integer", "null"], "minimum": -(2 ** 63) + 1, "maximum": 2 ** 63 - 1},
          "number": {"type": ["number", "null"]},
          "boolean": {"type": ["boolean", "null"]},
          "date": {"type": ["string", "null"], "format": "date", "description": "YYYY-MM-DD"},
          "datetime": {"type": ["string", "null"], "format": "date-time",
                       "description": "ISO 8601; without an offset: UTC"}}
_HEADERS = [
    ("webhook-id", {"type": "string", "minLength": 1, "maxLength": inbound.MAX_MESSAGE_ID},
     "The message's unique id: a second request with an id received already is refused (409); a retry of "
     "a request that was refused (not 202) may reuse it."),
    ("webhook-timestamp", {"type": "string", "pattern": "^[0-9]{1,12}$"},
     "When it was signed, in seconds since 1970 (UTC): at most 5 minutes from the server's clock."),
    ("webhook-signature", {"type": "string", "minLength": 1, "maxLength": 2000},
     "v1,<base64 HMAC-SHA256 of id.timestamp.body> with the secret of the workflow's named credential (several, "
     "space-separated, during a key rotation)."),
]
_ERRORS = {"400": "the body is not a JSON object, or a declared key has a value of the wrong type "
                  "(error.fields names each key)",
           "401": "the signature is missing or wrong, or the timestamp more than 5 minutes off",
           "404": "no active inbound webhook of this name",
           "409": "this webhook-id was received already (code replayed)",
           "413": f"the body is larger than {inbound.MAX_BODY // 1024} KiB",
           "503": "the workflow's signing credential is missing (an admin must create it)"}


def hook_paths(runtime, access) -> dict:
    """POST /hooks/<name> for every active inbound webhook, for callers who may customize metadata."""
    if not access.system("customize_metadata"):
        return {}
    hooks = [wf for wf in workflows_of(runtime).by_name.values() if wf.trigger == "inbound_webhook"]
    return {f"/hooks/{wf.name}": {"post": _operation(wf)} for wf in sorted(hooks, key=lambda w: w.name)}


def _operation(wf) -> dict:
    body = {"type": "object", "additionalProperties": True,
            "description": "A JSON object; the keys the workflow declares (others are ignored). A missing key or "
                           "null is blank.",
            "properties": {key: dict(_TYPES[kind]) for key, kind in wf.payload}}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "operationId": f"hook_{wf.name}", "summary": f"Inbound webhook: {wf.label}", "tags": ["hooks"],
        "description": f"Runs the workflow '{wf.name}' ({wf.object} records) as '{wf.user}': the request is checked "
                       "and queued, and a worker runs the actions (the run log shows the outcome under the "
                       "returned run_id). No token or session: signed per the Standard Webhooks spec with the "
                       f"named credential '{wf.secret}'.",
        "security": [],
        "parameters": [{"name": name, "in": "header", "required": True, "schema": schema, "description": text}
                       for name, schema, text in _HEADERS],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "202": {"description": "accepted: the run is queued", "content": {"application/json": {"schema": {
                "type": "object", "required": ["run_id", "status"],
                "properties": {"run_id": {"type": "string", "format": "uuid",
                                          "description": "the workflow run (GET /workflow-runs?workflow=…)"},
                               "status": {"const": "accepted"}}}}}},
            **{code: {"description": text, **error} for code, text in _ERRORS.items()}},
    }
