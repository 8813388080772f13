"""The automation routes in the OpenAPI document: every one for an admin, only those a user may
call for a user (the document follows the caller's rights), and the answers match the schemas."""
from __future__ import annotations

import uuid

import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "automation"))

ADMIN_ONLY = {("/workflow-runs", "get"), ("/workflow-runs/{id}/retry", "post"), ("/webhook-deliveries", "get"),
              ("/webhook-deliveries/{id}", "get"), ("/webhook-deliveries/{id}/replay", "post"),
              ("/email-outbox", "get")}
EVERYONE = {("/notifications", "get"), ("/notifications/read", "post"), ("/workflows/{name}/run", "post"),
            ("/records/{object}/{id}/workflow-runs", "get")}


def operations(doc) -> set[tuple[str, str]]:
    return {(path, method) for path, item in doc["paths"].items() for method in item}


def check(doc, schema_name: str, body) -> None:
    """`body` is valid against the document's component `schema_name` (refs resolved in the document)."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, [e.message for e in errors][:5]


def test_an_admin_sees_every_automation_route(api):
    doc = api.get("/api/v1/openapi.json").json
    validate(doc)
    assert ADMIN_ONLY | EVERYONE <= operations(doc)
    retry = doc["paths"]["/workflow-runs/{id}/retry"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(retry["responses"])
    assert retry["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WorkflowRunRetry"}
    assert doc["paths"]["/workflows/{name}/run"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ManualRun"}
    objects = doc["paths"]["/records/{object}/{id}/workflow-runs"]["get"]["parameters"][0]["schema"]["enum"]
    assert "deal" in objects and "company" in objects


def test_a_user_sees_only_what_they_may_call(services, client_for):
    rep, _ = services.identity.create_user("rep1", password="Tq7-violet-harbor-92", profile="standard_user")
    client = client_for(rep)
    doc = client.get("/api/v1/openapi.json").json
    validate(doc)
    assert EVERYONE <= operations(doc)
    assert not ADMIN_ONLY & operations(doc)
    # and indeed they may not call them
    assert client.get("/api/v1/workflow-runs").status_code == 403
    assert client.post(f"/api/v1/workflow-runs/{uuid.uuid4()}/retry").status_code == 403
    assert client.get("/api/v1/webhook-deliveries").status_code == 403
    assert client.get("/api/v1/email-outbox").status_code == 403


def test_answers_match_the_documented_schemas(services, api):
    from test_workflow_retry import BROKEN_AMOUNT, FIXED_AMOUNT, close_out
    from test_workflows import apply
    doc = api.get("/api/v1/openapi.json").json
    apply(services, close_out(BROKEN_AMOUNT))
    deal = api.post("/api/v1/records/deal", json={"name": "D1", "amount": 200}).json
    ran = api.post("/api/v1/workflows/close_out/run", json={"records": [deal["id"], str(uuid.uuid4())]})
    check(doc, "ManualRunResults", ran.json)
    failed_id = ran.json["results"][0]["run_id"]
    check(doc, "WorkflowRunList", api.get("/api/v1/workflow-runs").json)
    check(doc, "WorkflowRunList", api.get(f"/api/v1/records/deal/{deal['id']}/workflow-runs").json)
    check(doc, "NotificationList", api.get("/api/v1/notifications").json)
    check(doc, "NotificationsMarked", api.post("/api/v1/notifications/read", json={"all": True}).json)
    check(doc, "EmailOutboxList", api.get("/api/v1/email-outbox").json)
    check(doc, "WebhookDeliveryList", api.get("/api/v1/webhook-deliveries").json)
    apply(services, close_out(FIXED_AMOUNT))
    retried = api.post(f"/api/v1/workflow-runs/{failed_id}/retry")
    assert retried.status_code == 200
    check(doc, "WorkflowRunRetry", retried.json)
    refused = api.post(f"/api/v1/workflow-runs/{failed_id}/retry")
    assert refused.status_code == 409
    check(doc, "Error", refused.json)
    # what the document's formats refuse, the server refuses
    assert api.get("/api/v1/workflow-runs", query_string={"object": "Bad Name"}).status_code == 400
    assert api.get("/api/v1/workflow-runs", query_string={"record": uuid.uuid4().hex}).status_code == 400
    assert api.post(f"/api/v1/workflow-runs/{{{uuid.uuid4()}}}/retry").status_code == 400
    assert api.get("/api/v1/webhook-deliveries/msg_%00").status_code == 404
    assert api.post("/api/v1/notifications/read", json={"ids": [uuid.uuid4().hex]}).status_code == 422
