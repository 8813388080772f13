"""REST API behaviour through HTTP: CRUD, types, defaults, formulas, roll-ups, rules, errors."""
from __future__ import annotations

import pytest


def make_company(api, **fields):
    body = {"name": "Acme", **fields}
    r = api.post("/api/v1/records/company", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_create_returns_record_with_system_fields_and_etag(api):
    r = api.post("/api/v1/records/company", json={"name": "Acme", "revenue": 1234.5, "employees": 12,
                                                  "industry": "Energy", "founded": "2001-02-03",
                                                  "tags": ["partner", "customer"], "active": True})
    assert r.status_code == 201
    rec = r.get_json()
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"/api/v1/records/company/{rec['id']}"
    for key in ("id", "owner", "created_at", "created_by", "updated_at", "updated_by"):
        assert key in rec
    assert rec["revenue"] == 1234.5 and rec["employees"] == 12 and rec["founded"] == "2001-02-03"
    assert rec["tags"] == ["partner", "customer"] and rec["active"] is True
    assert rec["display"] == "Acme (Energy)"
    assert rec["num_deals"] == 0 and rec["open_amount"] == 0
    assert rec["created_at"].endswith("Z")
    got = api.get(f"/api/v1/records/company/{rec['id']}")
    assert got.status_code == 200 and got.get_json() == rec


def test_defaults_autonumber_and_formulas(api):
    company = make_company(api, industry="Retail")
    d1 = api.post("/api/v1/records/deal", json={"name": "One", "company": company["id"], "amount": 200}).get_json()
    d2 = api.post("/api/v1/records/deal", json={"name": "Two", "company": company["id"], "amount": 50,
                                                "probability": 50}).get_json()
    assert d1["number"] == "D-0001" and d2["number"] == "D-0002"
    assert d1["stage"] == "New" and d1["probability"] == 10 and d1["close_date"]
    assert d1["expected"] == 20 and d2["expected"] == 25
    assert d1["company_industry"] == "Retail"
    c = api.get(f"/api/v1/records/company/{company['id']}").get_json()
    assert c["num_deals"] == 2 and c["open_amount"] == 250


@pytest.mark.parametrize("body, field, fragment", [
    ({"name": "x", "employees": "many"}, "employees", "integer"),
    ({"name": "x", "industry": "Mining"}, "industry", "not one of the values"),
    ({"name": "x", "website": "not a url"}, "website", "url"),
    ({"name": "x", "email": "nobody"}, "email", "email"),
    ({"name": "x", "founded": "2020-13-40"}, "founded", "not a date"),
    ({"name": "x", "nonexistent": 1}, "nonexistent", "not a field"),
    ({"name": "x", "created_at": "2020-01-01T00:00:00Z"}, "created_at", "system field"),
    ({"name": "x", "id": "5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11"}, "id", "system field"),
    ({"name": "x", "num_deals": 3}, "num_deals", "read-only"),
    ({"name": "x", "display": "x"}, "display", "read-only"),
    ({"industry": "Energy"}, "name", "required"),
    ({"name": "x" * 81}, "name", "longer than 80"),
    ({"name": "x", "revenue": "12"}, "revenue", "number"),
    ({"name": "x", "revenue": 10 ** 12}, "revenue", "digits"),
    ({"name": "x", "revenue": 1e100}, "revenue", "digits"),     # beyond what the decimal context holds
    ({"name": "x", "revenue": -1e300}, "revenue", "digits"),
    ({"name": "x", "tags": ["nope"]}, "tags", "not one of the values"),
    ({"name": "x", "parent": "not-an-id"}, "parent", "not a record id"),
    ({"name": "x", "parent": "5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11"}, "parent", "there is no company"),
    ({"name": "x", "employees": -1}, "employees", "at least 0"),
    ({"name": "x", "active": "yes"}, "active", "true or false"),
])
def test_invalid_input_is_422_naming_the_field(api, body, field, fragment):
    r = api.post("/api/v1/records/company", json=body)
    assert r.status_code == 422, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "validation_failed"
    assert fragment in " ".join(err["fields"][field])
    assert api.get("/api/v1/records/company").get_json()["records"] == []


def test_rich_text_is_sanitized(api):
    rec = make_company(api, notes='<p onclick="x()">Hi<script>alert(1)</script></p>')
    assert "script" not in rec["notes"] and "onclick" not in rec["notes"] and "Hi" in rec["notes"]


def test_validation_rules(api):
    r = api.post("/api/v1/records/deal", json={"name": "Neg", "amount": -5})
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["fields"]["amount"] == ["Amount cannot be negative."]
    r = api.post("/api/v1/records/deal", json={"name": "Closed", "stage": "Closed"})
    assert r.status_code == 422 and "A closed deal needs an amount." in r.get_json()["error"]["message"]
    deal = api.post("/api/v1/records/deal", json={"name": "Closed", "stage": "Closed", "amount": 1}).get_json()
    r = api.patch(f"/api/v1/records/deal/{deal['id']}", json={"stage": "Working"})
    assert r.status_code == 422 and r.get_json()["error"]["rules"][0]["name"] == "cannot_reopen"
    r = api.patch(f"/api/v1/records/deal/{deal['id']}", json={"name": "Still closed"})
    assert r.status_code == 200


def test_patch_optimistic_locking(api):
    rec = make_company(api)
    url = f"/api/v1/records/company/{rec['id']}"
    r = api.patch(url, json={"employees": 5}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"' and r.get_json()["employees"] == 5
    r = api.patch(url, json={"employees": 6}, headers={"If-Match": '"1"'})
    assert r.status_code == 412 and r.get_json()["error"]["code"] == "stale_version"
    assert api.get(url).get_json()["employees"] == 5
    r = api.delete(url, headers={"If-Match": '"1"'})
    assert r.status_code == 412
    assert api.delete(url, headers={"If-Match": '"2"'}).status_code == 204
    assert api.get(url).status_code == 404


def test_patch_clearing_required_field_is_422(api):
    rec = make_company(api)
    r = api.patch(f"/api/v1/records/company/{rec['id']}", json={"name": None})
    assert r.status_code == 422 and "required" in r.get_json()["error"]["fields"]["name"][0]


def test_unique_violation_is_409(api):
    make_company(api, code="AC-1")
    r = api.post("/api/v1/records/company", json={"name": "Other", "code": "AC-1"})
    assert r.status_code == 409
    assert "code" in r.get_json()["error"]["fields"]


def test_restricted_delete_is_409_and_cascade_deletes_details(api):
    company = make_company(api)
    deal = api.post("/api/v1/records/deal", json={"name": "D", "company": company["id"]}).get_json()
    item = api.post("/api/v1/records/deal_item", json={"name": "I", "deal": deal["id"]}).get_json()
    r = api.delete(f"/api/v1/records/company/{company['id']}")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert api.delete(f"/api/v1/records/deal/{deal['id']}").status_code == 204
    assert api.get(f"/api/v1/records/deal_item/{item['id']}").status_code == 404
    assert api.delete(f"/api/v1/records/company/{company['id']}").status_code == 204


def test_lookup_set_null_on_delete(api):
    parent = make_company(api, name="Parent")
    child = make_company(api, name="Child", parent=parent["id"])
    assert api.delete(f"/api/v1/records/company/{parent['id']}").status_code == 204
    assert api.get(f"/api/v1/records/company/{child['id']}").get_json()["parent"] is None


def test_not_found_cases(api):
    assert api.get("/api/v1/records/nope").status_code == 404
    assert api.get("/api/v1/records/company/5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11").status_code == 404
    assert api.get("/api/v1/records/company/not-an-id").status_code == 404
    assert api.patch("/api/v1/records/company/5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11", json={}).status_code == 404
    r = api.get("/api/v1/records/nope")
    assert r.get_json()["error"]["code"] == "not_found"


def test_malformed_json_is_400(api):
    r = api.raw.post("/api/v1/records/company", data="{not json", headers={
        "Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] in ("bad_query", "bad_request")
    r = api.post("/api/v1/records/company", json=[1, 2])
    assert r.status_code == 422


def test_authentication(api):
    assert api.raw.get("/api/v1/objects").status_code == 401
    assert api.raw.get("/api/v1/objects", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.raw.get("/api/v1/objects", headers={"Authorization": "Basic abc"}).status_code == 401
    r = api.raw.get("/api/v1/objects", headers={"Authorization": "Bearer tsr_000000000000_forged"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    assert api.get("/api/v1/objects").status_code == 200


def test_revoked_and_inactive(api, services):
    import uuid
    admin = services.identity.find_user("admin")
    token_id, token = services.identity.tokens.create(uuid.UUID(admin["id"]))
    headers = {"Authorization": f"Bearer {token}"}
    assert api.raw.get("/api/v1/objects", headers=headers).status_code == 200
    assert services.identity.tokens.revoke(token_id)
    assert api.raw.get("/api/v1/objects", headers=headers).status_code == 401


def test_describe(api):
    objs = api.get("/api/v1/objects").get_json()["objects"]
    names = {o["name"] for o in objs}
    assert {"company", "deal", "user"} <= names
    d = api.get("/api/v1/objects/company").get_json()
    fields = {f["name"]: f for f in d["fields"]}
    assert fields["industry"]["type"] == "picklist"
    assert [v["value"] for v in fields["industry"]["values"]] == ["Banking", "Energy", "Retail", "Technology"]
    assert fields["parent"]["to"] == "company"
    assert fields["id"]["system"] is True
    assert api.get("/api/v1/objects/nope").status_code == 404


def test_a_default_expression_value_the_field_does_not_take_is_422(api, services):
    """An expression default is checked like input (max length, picklist values): a 422 naming the
    field, never a value the field cannot hold (SQLite would keep it) nor a 500 (PostgreSQL)."""
    from tessera.meta.source import empty_org
    org = empty_org()
    org["components"]["objects"]["company"] = {"source": "org/objects/company.yaml", "doc": {
        "extends": "company", "fields": {
            "short": {"type": "text", "max_length": 3, "default_expression": "UPPER(name)"},
            "kind": {"type": "picklist", "values": ["A", "B"], "default_expression": "IF(LEN(name) > 2, 'A', 'C')"}}}}
    services.changes.apply_org(org, author="test", message="expression defaults")
    ok = api.post("/api/v1/records/company", json={"name": "Abc"})
    assert ok.status_code == 201 and (ok.get_json()["short"], ok.get_json()["kind"]) == ("ABC", "A")
    long = api.post("/api/v1/records/company", json={"name": "Acme"})
    assert long.status_code == 422, long.get_json()
    assert long.get_json()["error"]["fields"]["short"][0].startswith("its default expression gives 'ACME', which")
    short = api.post("/api/v1/records/company", json={"name": "Ab"})
    assert short.status_code == 422 and "kind" in short.get_json()["error"]["fields"]
    bulk = api.post("/api/v1/records/company/bulk", json=[{"name": "Xyz"}, {"name": "Acme"}])
    assert bulk.status_code == 422 and [e["index"] for e in bulk.get_json()["error"]["rows"]] == [1]
    assert api.get("/api/v1/records/company?count=true").get_json()["total"] == 1


def test_bulk_create_checks_validation_rules_per_row_like_single_creates(api, services):
    """Bulk rules are checked in SQL over the inserted rows (500 a query), single creates in Python:
    both give the same errors, a rule through a lookup included, and a refused batch saves nothing
    (not even the autonumbers it drew)."""
    from tessera.meta.source import empty_org
    org = empty_org()
    org["components"]["objects"]["purchase"] = {"source": "org/objects/purchase.yaml", "doc": {
        "name": "purchase", "label": "Purchase", "fields": {
            "name": {"type": "text", "required": True},
            "number": {"type": "autonumber", "format": "P-{0000}"},
            "company": {"type": "lookup", "to": "company"},
            "amount": {"type": "currency"},
            "stage": {"type": "picklist", "values": ["New", "Closed"], "default": "New"}},
        "validation_rules": [
            {"name": "amount_not_negative", "condition": "amount < 0", "message": "Amount cannot be negative.",
             "field": "amount"},
            {"name": "closed_needs_amount", "condition": "stage == 'Closed' and ISBLANK(amount)",
             "message": "A closed purchase needs an amount."},
            {"name": "banking_limit", "condition": "company.industry == 'Banking' and amount > 1000000",
             "message": "Banking purchases above 1,000,000 need approval.", "field": "amount"},
            {"name": "cannot_reopen", "condition": "ISCHANGED(stage) and PRIORVALUE(stage) == 'Closed'",
             "message": "Closed purchases cannot be reopened.", "field": "stage"},
            {"name": "industry_known", "condition": "amount == 7 and ISBLANK(company.industry)",
             "message": "Sevens need a company with an industry."}]}}
    services.changes.apply_org(org, author="test", message="purchases")
    bank = make_company(api, name="Bank", industry="Banking")
    shop = make_company(api, name="Shop", industry="Retail")
    rows = [{"name": f"Purchase {i}", "company": shop["id"], "amount": 100} for i in range(620)]
    bad = {3: {"amount": -5},                                         # amount_not_negative
           501: {"stage": "Closed", "amount": None},                  # closed_needs_amount (second chunk)
           502: {"amount": 2000000, "company": bank["id"]},           # banking_limit, through the lookup
           503: {"amount": 2000000},                                   # a retail purchase may be that large
           619: {"amount": -1, "stage": "Closed", "company": bank["id"]}}   # one rule: Closed with an amount is fine
    for i, change in bad.items():
        rows[i].update(change)
    r = api.post("/api/v1/records/purchase/bulk", json=rows)
    assert r.status_code == 422, r.get_json()
    errors = {e["index"]: e for e in r.get_json()["error"]["rows"]}
    assert sorted(errors) == [3, 501, 502, 619]
    assert [x["name"] for x in errors[3]["rules"]] == ["amount_not_negative"]
    assert errors[3]["fields"] == {"amount": ["Amount cannot be negative."]}
    assert [x["name"] for x in errors[501]["rules"]] == ["closed_needs_amount"] and errors[501]["fields"] == {}
    assert errors[502]["fields"] == {"amount": ["Banking purchases above 1,000,000 need approval."]}
    assert [x["name"] for x in errors[619]["rules"]] == ["amount_not_negative"]
    for i, error in errors.items():                                   # the same answer one at a time
        single = api.post("/api/v1/records/purchase", json=rows[i])
        assert single.status_code == 422
        body = single.get_json()["error"]
        assert body["rules"] == error["rules"] and body.get("fields", {}) == error["fields"]
        assert body["message"] == error["message"]
    assert api.get("/api/v1/records/purchase?count=true").get_json()["total"] == 0
    missing = "5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11"     # a rule reads through the lookup: checked first
    single = api.post("/api/v1/records/purchase", json={"name": "Ghost", "company": missing, "amount": 7})
    assert single.status_code == 422
    assert single.get_json()["error"]["fields"] == {"company": [f"there is no company with id '{missing}'"]}
    good = api.post("/api/v1/records/purchase/bulk", json=[rows[0], rows[503]])
    assert good.status_code == 201, good.get_json()
    saved = api.get("/api/v1/records/purchase", query_string={"fields": "number", "sort": "number"}).get_json()
    assert [p["number"] for p in saved["records"]] == ["P-0001", "P-0002"]


def test_bulk_create_all_or_nothing(api):
    rows = [{"name": f"C{i}", "employees": i} for i in range(5)]
    r = api.post("/api/v1/records/company/bulk", json=rows)
    assert r.status_code == 201 and r.get_json()["count"] == 5
    bad = [{"name": "ok"}, {"employees": "x"}, {"name": "ok2", "code": "Z"}, {"name": "dup", "code": "Z"}]
    r = api.post("/api/v1/records/company/bulk", json=bad)
    assert r.status_code == 422
    rows_err = r.get_json()["error"]["rows"]
    assert [e["index"] for e in rows_err] == [1, 3]
    assert "name" in rows_err[0]["fields"] and "employees" in rows_err[0]["fields"]
    total = api.get("/api/v1/records/company?count=true").get_json()["total"]
    assert total == 5
    r = api.post("/api/v1/records/company/bulk", json={"name": "x"})
    assert r.status_code == 422


def test_bulk_create_of_an_empty_array_creates_nothing(api):
    r = api.post("/api/v1/records/company/bulk", json=[])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["count"] == 0 and r.get_json().get("ids", []) == []
    assert api.get("/api/v1/records/company?count=true").get_json()["total"] == 0
