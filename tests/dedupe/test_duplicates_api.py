"""Duplicate rules through the REST API (issue 17): a block rule answers 409 with the matches and
stores nothing, `?allow_duplicates=true` saves only where the rule allows an override, a warn rule
saves and returns `_warnings`, bulk creates fail row by row, and a rep learns only the ids of the
records they may see. GET /records/{object}/{id}/duplicates and the OpenAPI document. Both DBs."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

PASSWORD = "Tq7-violet-harbor-92"
EMAIL_RULE = {"name": "company_email", "label": "Same email", "object": "company", "action": "block",
              "allow_override": True, "conditions": [{"field": "email", "match": "email"}]}
CODE_RULE = {"name": "company_code", "object": "company", "action": "block",
             "conditions": [{"field": "website", "match": "normalized"}]}
NAME_RULE = {"name": "company_name", "object": "company", "action": "warn",
             "conditions": [{"field": "name", "match": "fuzzy", "threshold": 0.9}]}


@pytest.fixture
def rules(services):
    services.changes.apply_org({"manifest": None, "components": {"duplicate_rules": {
        r["name"]: {"source": f"duplicate_rules/{r['name']}.yaml", "doc": r} for r in (EMAIL_RULE, CODE_RULE, NAME_RULE)
    }}}, author="test", message="duplicate rules")
    return services


def companies(services) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(services.runtimes.current().tables["company"])).scalar()


def post(client, data, status=201, query=""):
    r = client.post(f"/api/v1/records/company{query}", json=data)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_block_warn_and_override(rules, api):
    acme = post(api, {"name": "Acme Corporation", "email": "info@acme.com", "website": "https://acme.com"})
    assert "_warnings" not in acme
    before = companies(rules)
    body = post(api, {"name": "Other", "email": "INFO@acme.com"}, 409)["error"]
    assert body["code"] == "duplicates_found" and body["overridable"] is True
    assert body["fields"] == {"email": [body["duplicates"][0]["message"]]}
    finding = body["duplicates"][0]
    assert finding["rule"] == "company_email" and finding["label"] == "Same email" and finding["hidden"] == 0
    assert finding["matches"] == [{"id": acme["id"], "name": "Acme Corporation", "score": 1.0}]
    assert companies(rules) == before                                            # nothing stored
    # saved anyway when the user says so, and the rule allows it: the match comes back as a warning
    saved = post(api, {"name": "Other", "email": "INFO@acme.com"}, 201, "?allow_duplicates=true")
    assert [w["rule"] for w in saved["_warnings"]] == ["company_email"]
    # a rule without allow_override cannot be overridden
    body = post(api, {"name": "Third", "website": "HTTPS://ACME.COM"}, 409, "?allow_duplicates=true")["error"]
    assert body["overridable"] is False and [f["rule"] for f in body["duplicates"]] == ["company_code"]
    post(api, {"name": "Third"}, 400, "?allow_duplicates=maybe")
    # a warn rule saves and says why
    similar = post(api, {"name": "ACME Corporaton"})
    assert similar["_warnings"][0]["rule"] == "company_name"
    assert similar["_warnings"][0]["matches"][0]["id"] == acme["id"]
    assert api.get(f"/api/v1/records/company/{similar['id']}").get_json().get("_warnings") is None
    # an update is checked too
    r = api.patch(f"/api/v1/records/company/{similar['id']}", json={"email": "info@ACME.com"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "duplicates_found"
    r = api.patch(f"/api/v1/records/company/{similar['id']}?allow_duplicates=true", json={"email": "info@ACME.com"})
    assert r.status_code == 200 and r.get_json()["_warnings"][0]["rule"] == "company_email"
    # an upsert by external id goes through the same checks
    r = api.put("/api/v1/records/company/by/code/C-9", json={"name": "Upserted", "email": "info@acme.com"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "duplicates_found"


def test_bulk_create_fails_row_by_row_and_warns(rules, api):
    acme = post(api, {"name": "Acme Corporation", "email": "info@acme.com"})
    before = companies(rules)
    r = api.post("/api/v1/records/company/bulk", json=[
        {"name": "Fine", "email": "fine@fine.com"},
        {"name": "Copy", "email": "info@acme.com"},
        {"name": "Twin", "email": "FINE@fine.com"},
    ])
    assert r.status_code == 422, r.get_json()
    rows = r.get_json()["error"]["rows"]
    assert [row["index"] for row in rows] == [1, 2]
    assert rows[0]["duplicates"][0]["matches"][0]["id"] == acme["id"] and "email" in rows[0]["fields"]
    assert rows[1]["duplicates"][0]["rows"] == [0] and "row 1 of this batch" in rows[1]["fields"]["email"][0]
    assert companies(rules) == before
    r = api.post("/api/v1/records/company/bulk?allow_duplicates=true", json=[
        {"name": "Copy", "email": "info@acme.com"}, {"name": "Acme Corporatio"}])
    assert r.status_code == 201, r.get_json()
    warnings = r.get_json()["warnings"]
    assert [(w["index"], w["rule"]) for w in warnings] == [(0, "company_email"), (1, "company_name")]


def test_a_rep_sees_only_the_ids_of_records_they_may_see(rules, services, api, client_for):
    reps = {}
    for name in ("rep", "peer"):
        user, _ = services.identity.create_user(name, password=PASSWORD, last_name=name.title(), profile="tp_rep",
                                                role="tp_worker")
        reps[name] = client_for(user)
    theirs = post(reps["peer"], {"name": "Peer's Company", "email": "peer@globex.com"})
    mine = post(reps["rep"], {"name": "Rep's Company", "email": "rep@initech.com"})
    body = post(reps["rep"], {"name": "Again", "email": "peer@globex.com"}, 409)["error"]
    finding = body["duplicates"][0]
    assert finding["matches"] == [] and finding["hidden"] == 1        # blocked, but the peer's record unnamed
    assert theirs["id"] not in str(body) and "Peer's Company" not in str(body)
    assert "hidden from you" in finding["message"]
    body = post(reps["rep"], {"name": "Again", "email": "rep@initech.com"}, 409)["error"]
    assert body["duplicates"][0]["matches"][0]["id"] == mine["id"]
    # the admin sees both
    admin_view = api.get(f"/api/v1/records/company/{mine['id']}/duplicates").get_json()
    assert admin_view == {"duplicates": []}
    post(api, {"name": "Admin's", "email": "peer@globex.com"}, 201, "?allow_duplicates=true")
    r = reps["rep"].get(f"/api/v1/records/company/{theirs['id']}/duplicates")
    assert r.status_code == 404                                         # not theirs to ask about


def test_duplicates_endpoint_and_openapi(rules, api):
    a = post(api, {"name": "Globex Industries"})
    b = post(api, {"name": "Globex Industries Inc"}, 201)
    c = post(api, {"name": "GLOBEX INDUSTRIES"})
    r = api.get(f"/api/v1/records/company/{a['id']}/duplicates")
    assert r.status_code == 200
    found = r.get_json()["duplicates"]
    assert [f["rule"] for f in found] == ["company_name"]
    assert [m["id"] for m in found[0]["matches"]] == [c["id"]]          # b is less than 90% similar
    assert b["id"] not in str(found)
    assert api.get("/api/v1/records/company/not-an-id/duplicates").status_code in (400, 404)
    assert api.get("/api/v1/records/nothing/x/duplicates").status_code == 404
    assert api.get("/api/v1/records/deal/01a25203-9633-7bb8-af9c-5f3a7b965725/duplicates").status_code == 404
    doc = api.get("/api/v1/openapi.json").get_json()
    assert doc["paths"]["/records/company/{id}/duplicates"]["get"]["operationId"] == "duplicates_company"
    assert "/records/deal/{id}/duplicates" not in doc["paths"]                 # no rule on deals
    params = [p["name"] for p in doc["paths"]["/records/company"]["post"]["parameters"]]
    assert "allow_duplicates" in params
    assert "DuplicateFinding" in doc["components"]["schemas"]
