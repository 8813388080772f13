"""Inbound webhooks in the OpenAPI document: one POST /hooks/<name> per active inbound workflow, for
admins, with the payload's keys and types as the request body, the Standard Webhooks headers and
every answer; real answers of the route match the documented schemas. Both databases."""
from __future__ import annotations

import sys
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "automation"))

from test_inbound_hooks import HOOK, post, signed  # noqa: E402
from test_workflows import apply  # noqa: E402

from tessera.automation import credentials  # noqa: E402


def errors_of(doc, schema, body) -> list[str]:
    validator = Draft202012Validator({**schema, "components": doc["components"]}, format_checker=FormatChecker())
    return sorted(e.message for e in validator.iter_errors(body))


def response_schema(operation, status: str) -> dict:
    return operation["responses"][status]["content"]["application/json"]["schema"]


def test_every_active_inbound_webhook_is_documented_for_admins(services, app, api, client_for):
    apply(services, {"signup": HOOK, "old_signup": {**HOOK, "active": False}})
    secret, _created = credentials.set_credential(services.engine, "signup_hook", "webhook_signing")
    doc = api.get("/api/v1/openapi.json").json
    validate(doc)
    hooks = {path for path in doc["paths"] if path.startswith("/hooks/")}
    assert hooks == {"/hooks/signup"}
    operation = doc["paths"]["/hooks/signup"]["post"]
    assert operation["security"] == []
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("webhook-id", "header", True), ("webhook-timestamp", "header", True), ("webhook-signature", "header", True)]
    assert set(operation["responses"]) == {"202", "400", "401", "404", "409", "413", "503"}
    for status in ("400", "401", "404", "409", "413", "503"):
        assert response_schema(operation, status) == {"$ref": "#/components/schemas/Error"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {key: schema["type"] for key, schema in body["properties"].items()} == {
        "company": ["string", "null"], "staff": ["integer", "null"], "revenue": ["number", "null"],
        "founded": ["string", "null"], "enterprise": ["boolean", "null"]}
    assert body["properties"]["founded"]["format"] == "date"

    # what the schema takes, the route takes; what it refuses, the route refuses
    good = {"company": "Globex", "staff": 3, "revenue": 2.5, "founded": "1999-01-02", "enterprise": None, "x": 1}
    assert errors_of(doc, body, good) == []
    accepted = post(app, "signup", *signed(secret, good, msg_id="msg_doc_1"))
    assert accepted.status_code == 202 and errors_of(doc, response_schema(operation, "202"), accepted.json) == []
    bad = {"company": 5, "staff": 1.5, "founded": "yesterday"}
    assert len(errors_of(doc, body, bad)) == 3
    refused = post(app, "signup", *signed(secret, bad, msg_id="msg_doc_2"))
    assert refused.status_code == 400 and errors_of(doc, {"$ref": "#/components/schemas/Error"}, refused.json) == []
    for answer, status in ((post(app, "signup", *signed(secret, good, msg_id="msg_doc_1")), 409),
                           (post(app, "signup", b"{}", {"webhook-id": "m", "webhook-timestamp": "1",
                                                        "webhook-signature": "v1,x"}), 401)):
        assert answer.status_code == status
        assert errors_of(doc, response_schema(operation, str(status)), answer.json) == []

    # a standard user's document does not list the integrations
    rep, _ = services.identity.create_user("rep1", password="Tq7-violet-harbor-92", profile="standard_user")
    theirs = client_for(rep).get("/api/v1/openapi.json").json
    validate(theirs)
    assert not [path for path in theirs["paths"] if path.startswith("/hooks/")]

    # deactivated: gone from the document, and the route answers 404 as documented
    apply(services, {"signup": {**HOOK, "active": False}})
    assert not [p for p in api.get("/api/v1/openapi.json").json["paths"] if p.startswith("/hooks/")]
