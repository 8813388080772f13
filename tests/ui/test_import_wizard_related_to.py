"""The import wizard with a related_to column (issue 16 §4): a header naming the field is matched
as `related_to.name` (cells object:name or object.key:value), rows naming records the user may not
see — or objects the field does not take — are errors of their rows in the preview and the run,
nothing saved; the API takes the same natural key, {"object": …, <key>: …}. Both databases."""
from __future__ import annotations

from tessera.dataio import jobs
from tessera.security.actor import SYSTEM

from test_import_wizard import run_id_of, selected, upload

ACTIVITY_RIGHTS = {"name": "imp_act_rights", "label": "Activities",
                   "objects": {"task": ["create", "read", "edit"]}}


def test_wizard_matches_related_to_by_name(admin, services):
    acme = services.records.create(SYSTEM, "company", {"name": "Acme", "code": "C-1"})
    deal = services.records.create(SYSTEM, "deal", {"name": "Renewal", "company": acme["id"]})
    run_id = run_id_of(upload(admin, "task", b"Subject,Related To\nCall Acme,company:Acme\n"
                                            b"Send quote,deal:Renewal\nBy code,company.code:C-1\n"))
    page = admin.html(f"/app/data-imports/{run_id}")
    assert [selected(page, i) for i in range(2)] == ["subject", "related_to.name"]
    assert 'value="related_to"' in page and "account:Acme Corp" in page     # both choices offered, with the format
    form = {"map-0": "subject", "map-1": "related_to.name", "operation": "insert"}
    preview = admin.post(f"/app/data-imports/{run_id}/preview", data=form)
    assert preview.status_code == 200 and "with errors" not in preview.get_data(as_text=True)
    admin.post(f"/app/data-imports/{run_id}/start")
    jobs.run_import(services, run_id)
    status = admin.get(f"/app/_api/imports/{run_id}").json
    assert (status["status"], status["created"]) == ("done", 3), status
    found = {t["subject"]: t["related_to"] for t in services.records.query(
        SYSTEM, "task", fields="subject,related_to").records}
    assert found["Call Acme"]["id"] == acme["id"] and found["By code"]["id"] == acme["id"]
    assert found["Send quote"] == {"object": "deal", "id": deal["id"], "name": "Renewal"}


def test_records_the_user_cannot_see_are_row_errors(admin, login, users, services):
    services.changes.apply_org({"manifest": None, "components": {"permission_sets": {"imp_act_rights": {
        "source": "permission_sets/imp_act_rights.yaml", "doc": ACTIVITY_RIGHTS}}}}, author="test", message="rights")
    services.records.create(SYSTEM, "permission_set_assignment", {"user": users["rep"]["id"],
                                                                   "permission_set": "imp_act_rights"})
    services.records.create(SYSTEM, "company", {"name": "Hidden Co"})              # the admin's: private
    services.records.create(SYSTEM, "company", {"name": "Own Co", "owner": users["rep"]["id"]})
    rep = login("rep")
    run_id = run_id_of(upload(rep, "task", b"Subject,Related To\nMine,company:Own Co\nTheirs,company:Hidden Co\n"
                                          b"Memo,memo:Plan\n"))
    form = {"map-0": "subject", "map-1": "related_to.name", "operation": "insert"}
    text = rep.post(f"/app/data-imports/{run_id}/preview", data=form).get_data(as_text=True)
    assert "2 with errors" in text
    assert "there is no company with name &#39;Hidden Co&#39;" in text          # hidden reads as missing
    assert "cannot refer to a memo record" in text
    rep.post(f"/app/data-imports/{run_id}/start")
    jobs.run_import(services, run_id)
    status = rep.get(f"/app/_api/imports/{run_id}").json
    assert (status["status"], status["error_count"], status["created"]) == ("failed", 2, 0)
    assert services.records.query(SYSTEM, "task").records == []


def test_api_related_to_natural_key(api, services):
    services.records.create(SYSTEM, "company", {"name": "Acme", "code": "C-1"})
    r = api.post("/api/v1/records/task", json={"subject": "x", "related_to": {"object": "company", "code": "C-1"}})
    assert r.status_code == 201, r.json
    assert r.json["related_to"]["name"] == "Acme"
    r = api.post("/api/v1/records/task/bulk", json=[
        {"subject": "ok", "related_to": {"object": "company", "code": "C-1"}},
        {"subject": "missing", "related_to": {"object": "company", "code": "C-404"}},
        {"subject": "no object", "related_to": {"code": "C-1"}},
        {"subject": "not allowed", "related_to": {"object": "memo", "name": "Plan"}}])
    assert r.status_code == 422, r.json
    rows = {row["index"]: row["fields"]["related_to"][0] for row in r.json["error"]["rows"]}
    assert rows[1] == "there is no company with code 'C-404'"
    assert rows[2].startswith("names no object") and rows[3].startswith("cannot refer to a memo record")
    assert len(services.records.query(SYSTEM, "task").records) == 1


def test_openapi_offers_the_related_to_natural_key(api):
    doc = api.get("/api/v1/openapi.json").json
    related = doc["components"]["schemas"]["TaskInput"]["properties"]["related_to"]
    variants = next(part["oneOf"] for part in related["anyOf"] if "oneOf" in part and "description" in part)
    company = next(v for v in variants if v["properties"]["object"] == {"const": "company"})
    assert set(company["properties"]) == {"object", "code"} and company["required"] == ["object"]
