"""Copy-on-select fields (`copy_from`, `keep_in_sync`): copied through a lookup on create and when
the lookup changes, kept in sync by the job queue, filled for existing rows by the change pipeline,
and refused at validation when the path cannot be copied. Through the REST API; both databases."""
from __future__ import annotations

import pytest
from worker_threads import run_jobs

from tessera.meta.errors import MetadataInvalid


def extend_deal(services, fields: dict):
    org = {"manifest": None, "components": {"objects": {"deal": {
        "source": "objects/deal.yaml", "doc": {"extends": "deal", "fields": fields}}}}}
    return services.changes.apply_org(org, author="test", message="copy fields")


COPIES = {
    "industry": {"type": "text", "max_length": 40, "copy_from": "company.industry", "keep_in_sync": True},
    "billing_email": {"type": "email", "copy_from": "company.email", "default": "billing@example.com"},
}


@pytest.fixture
def copying(services):
    extend_deal(services, COPIES)
    return services


def company(api, **values):
    response = api.post("/api/v1/records/company", json={"name": "Acme", **values})
    assert response.status_code == 201, response.json
    return response.json


def deal(api, **values):
    response = api.post("/api/v1/records/deal", json={"name": "Deal", **values})
    assert response.status_code == 201, response.json
    return response.json


def test_a_new_record_copies_through_its_lookup(copying, api):
    acme = company(api, industry="Energy", email="ap@acme.example")
    made = deal(api, company=acme["id"])
    assert made["industry"] == "Energy" and made["billing_email"] == "ap@acme.example"
    # no lookup: nothing to copy, the default applies
    alone = deal(api)
    assert alone["industry"] is None and alone["billing_email"] == "billing@example.com"
    # a value given in the write wins over the copy
    told = deal(api, company=acme["id"], industry="Retail")
    assert told["industry"] == "Retail" and told["billing_email"] == "ap@acme.example"


def test_changing_the_lookup_copies_again_and_clearing_it_clears_the_copy(copying, api):
    acme = company(api, industry="Energy", email="ap@acme.example")
    globex = company(api, name="Globex", industry="Banking", email="ap@globex.example")
    made = deal(api, company=acme["id"])
    # the copy is the record's own value: it may be edited, and stays when the lookup does not change
    edited = api.patch(f"/api/v1/records/deal/{made['id']}", json={"industry": "Energy & Water"}).json
    assert edited["industry"] == "Energy & Water"
    renamed = api.patch(f"/api/v1/records/deal/{made['id']}", json={"name": "Renamed"}).json
    assert renamed["industry"] == "Energy & Water"
    moved = api.patch(f"/api/v1/records/deal/{made['id']}", json={"company": globex["id"]}).json
    assert moved["industry"] == "Banking" and moved["billing_email"] == "ap@globex.example"
    cleared = api.patch(f"/api/v1/records/deal/{made['id']}", json={"company": None}).json
    assert cleared["industry"] is None and cleared["billing_email"] is None


def test_bulk_creates_copy_the_same_way(copying, api):
    acme = company(api, industry="Energy")
    globex = company(api, name="Globex", industry="Banking")
    response = api.post("/api/v1/records/deal/bulk", json=[
        {"name": "A", "company": acme["id"]}, {"name": "B", "company": globex["id"]},
        {"name": "C"}, {"name": "D", "company": acme["id"], "industry": "Given"}])
    assert response.status_code == 201, response.json
    got = {r["name"]: r for r in api.get("/api/v1/records/deal", query_string={
        "fields": "name,industry,billing_email", "sort": "name"}).json["records"]}
    assert [got[n]["industry"] for n in "ABCD"] == ["Energy", "Banking", None, "Given"]
    assert got["C"]["billing_email"] == "billing@example.com"


def test_a_copy_kept_in_sync_follows_its_source_through_the_job_queue(copying, api):
    acme = company(api, industry="Energy", email="ap@acme.example")
    deals = [deal(api, name=f"D{i}", company=acme["id"]) for i in range(3)]
    api.patch(f"/api/v1/records/company/{acme['id']}", json={"industry": "Technology", "email": "new@acme.example"})

    def industries():
        return [api.get(f"/api/v1/records/deal/{d['id']}").json["industry"] for d in deals]
    assert industries() == ["Energy"] * 3          # not in the source's write: after it commits
    run_jobs(copying, until=lambda: industries() == ["Technology"] * 3)
    assert industries() == ["Technology"] * 3
    # billing_email is a copy, not kept in sync
    assert {api.get(f"/api/v1/records/deal/{d['id']}").json["billing_email"] for d in deals} == {"ap@acme.example"}
    # the followers' own history shows the change, made by the system
    history = api.get(f"/api/v1/records/deal/{deals[0]['id']}/history")
    assert history.status_code == 200


def test_adding_a_copy_field_fills_existing_records(services, api):
    acme = company(api, industry="Retail")
    made = deal(api, company=acme["id"])
    result = extend_deal(services, {"sector": {"type": "text", "copy_from": "company.industry"}})
    assert any("sets 1 existing row copied from company.industry" in note
               for impact in result.impacts for note in impact.notes)
    assert api.get(f"/api/v1/records/deal/{made['id']}").json["sector"] == "Retail"


@pytest.mark.parametrize("field, message", [
    ({"type": "text", "copy_from": "name"},
     "'name' is not a path through a lookup of deal: a copy comes from the record a lookup points to"),
    ({"type": "text", "copy_from": "company.nope"}, "unknown field 'company.nope'"),
    ({"type": "integer", "copy_from": "company.industry"}, "integer"),
    ({"type": "text", "copy_from": "company.owner.username", "keep_in_sync": True},
     "keep_in_sync follows a stored field of the record one lookup away (lookup.field)"),
    ({"type": "text", "keep_in_sync": True}, "keep_in_sync needs copy_from"),
])
def test_a_copy_that_cannot_work_is_refused_at_validation(services, field, message):
    with pytest.raises(MetadataInvalid) as info:
        extend_deal(services, {"copied": field})
    errors = [str(e) for e in info.value.errors]
    assert any("fields.copied" in e and message in e for e in errors), errors


def test_the_form_endpoint_shows_what_a_save_would_copy(copying, api, app):
    import re
    acme = company(api, industry="Energy", email="ap@acme.example")
    browser = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").get_data(as_text=True)).group(1)
    browser.post("/login", data={"username": "admin", "password": "orchid-lantern-42", "csrf_token": token})
    got = browser.get("/app/_api/copies/deal/company", query_string={"id": acme["id"]})
    assert got.status_code == 200 and got.json == {"values": {"industry": "Energy", "billing_email": "ap@acme.example"}}
    assert browser.get("/app/_api/copies/deal/name", query_string={"id": acme["id"]}).json == {"values": {}}
    missing = browser.get("/app/_api/copies/deal/company", query_string={"id": "6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10"})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert browser.get("/app/_api/copies/deal/company", query_string={"id": "x"}).status_code == 404
    assert browser.get("/app/_api/copies/nope/company", query_string={"id": acme["id"]}).status_code == 404
