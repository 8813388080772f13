"""Natural keys through the REST API (issue 14 §1): lookups named by the target's external id
(create, update, bulk), under the caller's sharing; PUT .../by/{field}/{value} upserts, also under
concurrency; describe and OpenAPI show them; autonumber date tokens. Both databases."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import event

from tessera.meta.source import empty_org
from tessera.security.actor import SYSTEM

NK_REP = {"name": "nk_rep", "label": "Natural key rep", "system_permissions": ["api_access"],
          "objects": {"company": ["create", "read", "edit"], "deal": ["create", "read", "edit"], "user": ["read"]}}


@pytest.fixture
def companies(api):
    out = {}
    for code, name in (("C-1", "Acme"), ("C-2", "Globex")):
        r = api.post("/api/v1/records/company", json={"name": name, "code": code})
        assert r.status_code == 201, r.get_json()
        out[code] = r.get_json()["id"]
    return out


def test_describe_shows_external_id(api):
    fields = {f["name"]: f for f in api.get("/api/v1/objects/company").get_json()["fields"]}
    assert fields["code"]["external_id"] is True and fields["code"]["unique"] is True
    assert fields["name"]["external_id"] is False and fields["id"]["external_id"] is False


def test_create_and_update_name_a_lookup_by_external_id(api, companies):
    r = api.post("/api/v1/records/deal", json={"name": "Big", "company": {"code": "C-1"}})
    assert r.status_code == 201, r.get_json()
    deal = r.get_json()
    assert deal["company"] == companies["C-1"]
    r = api.patch(f"/api/v1/records/deal/{deal['id']}", json={"company": {"code": "C-2"}})
    assert r.status_code == 200 and r.get_json()["company"] == companies["C-2"]
    r = api.patch(f"/api/v1/records/deal/{deal['id']}", json={"company": {"code": ""}})   # blank: no value
    assert r.status_code == 200 and r.get_json()["company"] is None


@pytest.mark.parametrize("value, fragment", [
    ({"code": "C-404"}, "there is no company with code 'C-404'"),
    ({"industry": "Energy"}, "'industry' is not an external id or unique name field of company (natural keys: code)"),
    ({"name": "Acme"}, "'name' is not an external id or unique name field of company"),
    ({"code": "C-1", "name": "Acme"}, "exactly one key"),
    ({}, "exactly one key"),
    ({"code": ["C-1"]}, "company code:"),
])
def test_bad_natural_keys_are_422_at_the_lookup(api, companies, value, fragment):
    r = api.post("/api/v1/records/deal", json={"name": "X", "company": value})
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert fragment in error["fields"]["company"][0], error
    assert api.get("/api/v1/records/deal").get_json()["records"] == []


def test_a_target_without_natural_keys_says_so(api):
    memo = api.post("/api/v1/records/deal", json={"name": "X", "owner": {"username": "admin"}})
    assert memo.status_code == 422
    assert "user has none" in memo.get_json()["error"]["fields"]["owner"][0]


@pytest.fixture
def rep(services, client_for):
    org = empty_org()
    org["components"]["profiles"]["nk_rep"] = {"source": "org/profiles/nk_rep.yaml", "doc": NK_REP}
    services.changes.apply_org(org, author="test", message="a rep")
    user, _ = services.identity.create_user("rita", password="Tq7-violet-harbor-92", profile="nk_rep",
                                            last_name="Rita")
    return client_for(user)


def test_a_record_the_caller_cannot_see_resolves_as_not_found(api, rep, companies):
    mine = rep.post("/api/v1/records/company", json={"name": "Rita's", "code": "R-1"})
    assert mine.status_code == 201, mine.get_json()
    r = rep.post("/api/v1/records/deal", json={"name": "X", "company": {"code": "C-1"}})   # the admin's
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["company"] == ["there is no company with code 'C-1'"]
    r = rep.post("/api/v1/records/deal/bulk", json=[{"name": "A", "company": {"code": "R-1"}},
                                                     {"name": "B", "company": {"code": "C-2"}}])
    assert r.status_code == 422
    rows = r.get_json()["error"]["rows"]
    assert rows == [{"index": 1, "fields": {"company": ["there is no company with code 'C-2'"]}}]
    ok = rep.post("/api/v1/records/deal", json={"name": "Mine", "company": {"code": "R-1"}})
    assert ok.status_code == 201 and ok.get_json()["company"] == mine.get_json()["id"]


def test_bulk_resolves_keys_with_one_query_per_lookup(api, services, companies):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "obj_company" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)
    event.listen(services.engine, "before_cursor_execute", count)
    try:
        rows = [{"name": f"D{i}", "company": {"code": "C-1" if i % 2 else "C-2"}} for i in range(40)]
        r = api.post("/api/v1/records/deal/bulk", json=rows)
    finally:
        event.remove(services.engine, "before_cursor_execute", count)
    assert r.status_code == 201, r.get_json()
    resolving = [s for s in statements if "code" in s]
    assert len(resolving) == 1, statements
    deals = api.get("/api/v1/records/deal?fields=name,company&limit=100").get_json()["records"]
    assert {d["name"]: d["company"] for d in deals}["D1"] == companies["C-1"]
    assert {d["name"]: d["company"] for d in deals}["D2"] == companies["C-2"]


def test_bulk_reports_each_bad_key_and_saves_nothing(api, companies):
    r = api.post("/api/v1/records/deal/bulk", json=[
        {"name": "ok", "company": {"code": "C-1"}}, {"name": "bad", "company": {"code": "nope"}},
        {"name": "worse", "company": {"stage": "x"}}])
    assert r.status_code == 422
    rows = r.get_json()["error"]["rows"]
    assert [row["index"] for row in rows] == [1, 2]
    assert rows[0]["fields"]["company"] == ["there is no company with code 'nope'"]
    assert "not an external id" in rows[1]["fields"]["company"][0]
    assert api.get("/api/v1/records/deal").get_json()["records"] == []


# --------------------------------------------------------------------------- upsert

def test_upsert_creates_then_updates(api, companies):
    r = api.raw.put("/api/v1/records/company/by/code/C-9", json={"name": "Initech", "employees": 5},
                    headers={"Authorization": f"Bearer {api.token}"})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["code"] == "C-9" and created["name"] == "Initech" and r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"/api/v1/records/company/{created['id']}"
    r = _put(api, "/api/v1/records/company/by/code/C-9", {"employees": 6})
    assert r.status_code == 200 and r.get_json()["id"] == created["id"] and r.get_json()["employees"] == 6
    assert r.get_json()["name"] == "Initech" and r.headers["ETag"] == '"2"'
    r = _put(api, "/api/v1/records/company/by/code/C-9", {"code": "C-9", "notes": "same key is fine"})
    assert r.status_code == 200
    codes = [c["code"] for c in api.get("/api/v1/records/company?fields=code").get_json()["records"]]
    assert sorted(codes) == ["C-1", "C-2", "C-9"]


def _put(api, url, body, **headers):
    return api.raw.put(url, json=body, headers={"Authorization": f"Bearer {api.token}", **headers})


def test_upsert_honours_if_match(api, companies):
    url = "/api/v1/records/company/by/code/C-1"
    r = _put(api, url, {"employees": 1}, **{"If-Match": '"7"'})
    assert r.status_code == 412 and r.get_json()["error"]["code"] == "stale_version"
    r = _put(api, url, {"employees": 1}, **{"If-Match": '"1"'})
    assert r.status_code == 200 and r.get_json()["employees"] == 1
    r = _put(api, "/api/v1/records/company/by/code/C-77", {"name": "New"}, **{"If-Match": "*"})
    assert r.status_code == 412   # a conditional upsert only updates
    assert _put(api, "/api/v1/records/company/by/code/C-77", {"name": "New"}).status_code == 201


@pytest.mark.parametrize("url, body, status, code, fragment", [
    ("/api/v1/records/company/by/name/Acme", {"employees": 1}, 404, "not_found",
     "'name' is not an external id field of company (external ids: code)"),
    ("/api/v1/records/company/by/nothing/x", {}, 404, "not_found", "not an external id field"),
    ("/api/v1/records/nothing/by/code/x", {}, 404, "not_found", "there is no object"),
    ("/api/v1/records/company/by/code/C-1", {"code": "C-2"}, 422, "validation_failed", "cannot change it"),
    ("/api/v1/records/company/by/code/C-1", {"code": None}, 422, "validation_failed", "cannot change it"),
    ("/api/v1/records/company/by/code/" + "x" * 30, {"name": "Long"}, 422, "validation_failed", "code"),
    ("/api/v1/records/company/by/code/C-5", {"employees": "many"}, 422, "validation_failed", "integer"),
])
def test_upsert_refusals_are_machine_readable(api, companies, url, body, status, code, fragment):
    r = _put(api, url, body)
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == code and fragment in error["message"], error
    assert len(api.get("/api/v1/records/company").get_json()["records"]) == 2


def test_upsert_takes_natural_keys_in_its_body(api, companies):
    r = _put(api, "/api/v1/records/deal/by/name/x", {})
    assert r.status_code == 404
    r = _put(api, "/api/v1/records/company/by/code/C-3", {"name": "Child", "parent": {"code": "C-1"}})
    assert r.status_code == 201 and r.get_json()["parent"] == companies["C-1"]


def test_concurrent_upserts_of_one_key_make_one_record(services):
    records = services.records
    threads, start, outcomes, failures = 6, threading.Barrier(6), [], []

    def upsert(n):
        try:
            start.wait()
            record, created = records.upsert(SYSTEM, "company", "code", "RACE-1", {"name": f"writer {n}"})
            outcomes.append((record["id"], created))
        except BaseException as exc:   # collected: an assert in a thread would be lost
            failures.append(exc)
    workers = [threading.Thread(target=upsert, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert failures == []
    assert len({rid for rid, _ in outcomes}) == 1
    assert sorted(created for _, created in outcomes) == [False] * (threads - 1) + [True]
    rows = records.query(SYSTEM, "company", filter="code == 'RACE-1'", fields="name", limit=10).records
    assert len(rows) == 1
    again = records.get(SYSTEM, "company", rows[0]["id"], fields="name")
    assert again["_row_version"] == threads   # every writer's change applied, none lost


def test_autonumber_date_tokens(services, api):
    org = empty_org()
    org["components"]["objects"]["ticket"] = {"source": "org/objects/ticket.yaml", "doc": {
        "name": "ticket", "fields": {"subject": {"type": "text"},
                                     "number": {"type": "autonumber", "format": "T-{YYYY}{MM}-{0000}"}}}}
    services.changes.apply_org(org, author="test", message="tickets")
    before = datetime.now(timezone.utc).strftime("%Y%m")
    one = api.post("/api/v1/records/ticket", json={"subject": "a"}).get_json()
    ids = api.post("/api/v1/records/ticket/bulk", json=[{"subject": "b"}, {"subject": "c"}]).get_json()["ids"]
    after = datetime.now(timezone.utc).strftime("%Y%m")
    numbers = [one["number"]] + [api.get(f"/api/v1/records/ticket/{i}").get_json()["number"] for i in ids]
    assert numbers in ([f"T-{p}-{n:04d}" for n in (1, 2, 3)] for p in {before, after})
    assert one["number"][2:8] == one["created_at"][:7].replace("-", "")


def test_openapi_documents_upsert_and_natural_key_lookups(api):
    from jsonschema import Draft202012Validator
    doc = api.get("/api/v1/openapi.json").get_json()
    put = doc["paths"]["/records/company/by/{field}/{value}"]["put"]
    assert put["operationId"] == "upsert_company"
    assert {"200", "201", "404", "412", "422"} <= set(put["responses"])
    field = next(p for p in put["parameters"] if p["name"] == "field")
    assert field["schema"]["enum"] == ["code"]
    assert "/records/deal/by/{field}/{value}" not in doc["paths"]   # deal has no external id
    company = doc["components"]["schemas"]["DealInput"]["properties"]["company"]
    validator = Draft202012Validator(company)
    assert validator.is_valid({"code": "C-1"}) and validator.is_valid("5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11")
    assert not validator.is_valid({"code": "C-1", "name": "x"}) and not validator.is_valid({"industry": "x"})


def test_a_key_field_the_caller_cannot_read_matches_nothing(api, services, client_for, companies):
    user, _ = services.identity.create_user("hidden", password="Tq7-violet-harbor-92", profile="tp_rep",
                                            last_name="Hidden")
    rep = client_for(user)   # tp_rep may not read company.code
    r = rep.post("/api/v1/records/deal", json={"name": "X", "company": {"code": "C-1"}})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"]["company"] == ["you cannot look up company records by code"]
    r = _put(rep, "/api/v1/records/company/by/code/C-50", {"name": "Probe"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert "/records/company/by/{field}/{value}" not in rep.get("/api/v1/openapi.json").get_json()["paths"]
    assert len(api.get("/api/v1/records/company").get_json()["records"]) == 2
