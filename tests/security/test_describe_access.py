"""Describe and the OpenAPI document show each caller only what they may read (issue 11, item 3),
like Salesforce's describe: an unreadable object is a 404 and absent from lists, unreadable
fields are absent, and the logic inside metadata (validation rule conditions, formulas, roll-up
filters, default expressions) is for those who may customize it."""
from __future__ import annotations

import uuid


def test_openapi_and_describe_need_a_token(app):
    client = app.test_client()
    for url in ("/api/v1/openapi.json", "/api/v1/objects", "/api/v1/objects/company"):
        r = client.get(url)
        assert r.status_code == 401, url
        assert r.get_json()["error"]["code"] == "unauthorized"
        assert "paths" not in r.get_json()


def test_unreadable_objects_do_not_exist_for_the_caller(people):
    viewer = people["viewer"]   # tp_viewer: company, deal, deal_item; not memo
    names = {o["name"] for o in viewer.get("/api/v1/objects").get_json()["objects"]}
    assert {"company", "deal"} <= names and "memo" not in names
    r = viewer.get("/api/v1/objects/memo")
    assert r.status_code == 404
    assert r.get_json()["error"] == viewer.get("/api/v1/objects/no_such_object").get_json()["error"] | {
        "message": "there is no object 'memo'", "request_id": r.headers["X-Request-Id"]}
    doc = viewer.get("/api/v1/openapi.json").get_json()
    assert "/records/memo" not in doc["paths"] and "Memo" not in doc["components"]["schemas"]
    assert "/records/company" in doc["paths"]
    admin = people["admin_user"].get("/api/v1/openapi.json").get_json()
    assert "/records/memo" in admin["paths"]


def test_unreadable_fields_are_absent_and_uneditable_ones_are_not_inputs(people):
    rep = people["worker"]   # tp_rep: company.code unreadable, company.revenue read-only
    fields = {f["name"] for f in rep.get("/api/v1/objects/company").get_json()["fields"]}
    assert "code" not in fields and {"revenue", "name", "id"} <= fields
    schemas = rep.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "code" not in schemas["Company"]["properties"]
    assert "revenue" in schemas["Company"]["properties"]
    assert "revenue" not in schemas["CompanyInput"]["properties"] and "code" not in schemas["CompanyInput"]["properties"]
    assert "name" in schemas["CompanyInput"]["properties"]
    admin_schemas = people["admin_user"].get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {"code", "revenue"} <= set(admin_schemas["CompanyInput"]["properties"])


def test_expressions_are_shown_only_to_customizers(people):
    rep = people["worker"].get("/api/v1/objects/deal").get_json()
    admin = people["admin_user"].get("/api/v1/objects/deal").get_json()
    assert all("condition" not in rule for rule in rep["validation_rules"])
    assert {rule["name"] for rule in rep["validation_rules"]} == {rule["name"] for rule in admin["validation_rules"]}
    assert all(rule["condition"] for rule in admin["validation_rules"])
    rep_fields = {f["name"]: f for f in rep["fields"]}
    admin_fields = {f["name"]: f for f in admin["fields"]}
    assert "expression" not in rep_fields["expected"] and admin_fields["expected"]["expression"]
    assert "default_expression" not in rep_fields["close_date"] and admin_fields["close_date"]["default_expression"]
    company = {f["name"]: f for f in people["worker"].get("/api/v1/objects/company").get_json()["fields"]}
    assert "filter" not in company["open_amount"] and company["open_amount"]["function"] == "sum"


def test_the_document_is_built_once_per_permission_combination(people, services):
    from tessera.web.openapi import openapi_document
    runtime = services.runtimes.current()

    def access(username):
        return runtime.security.access_for(services.identity.actor_for_user_id(uuid.UUID(people.ids[username])))
    worker, lead, viewer = access("worker"), access("lead"), access("viewer")
    assert openapi_document(runtime, worker) is openapi_document(runtime, lead)   # same profile, same rights
    assert openapi_document(runtime, viewer) is not openapi_document(runtime, worker)
