"""Merging duplicates (issue 17): POST /api/v1/records/{object}/merge {master, duplicates, values}
in one transaction — lookups (restrict ones too) and self-lookups re-parented, related activities
moved, the duplicates' field history kept on the master, the duplicates deleted, the master given
the chosen values — and bad input refused with nothing changed. Both databases."""
from __future__ import annotations

import io
import uuid
from datetime import datetime, timezone

from tessera.security.actor import SYSTEM
from tessera.storage.platform_tables import file_links

PASSWORD = "Tq7-violet-harbor-92"


def post(client, url, data, status):
    r = client.post(url, json=data)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def company(api, **values):
    return post(api, "/api/v1/records/company", {"name": "Company", **values}, 201)


def test_merge_moves_everything_to_the_master(api):
    master = company(api, name="Acme Corporation")
    dup1 = company(api, name="ACME Corp", website="https://acme.com")
    dup2 = company(api, name="Acme Corp.")
    child = company(api, name="Acme Europe", parent=dup1["id"])
    assert api.patch(f"/api/v1/records/company/{master['id']}", json={"parent": dup2["id"]}).status_code == 200
    deals = [post(api, "/api/v1/records/deal", {"name": f"Deal {i}", "company": d["id"]}, 201)
             for i, d in enumerate((dup1, dup2, master))]
    task = post(api, "/api/v1/records/task", {"subject": "Call them",
                                               "related_to": {"object": "company", "id": dup2["id"]}}, 201)
    assert api.patch(f"/api/v1/records/company/{dup1['id']}", json={"employees": 12}).status_code == 200

    result = post(api, "/api/v1/records/company/merge", {
        "master": master["id"], "duplicates": [dup1["id"], dup2["id"]],
        "values": {"website": "https://acme.com", "employees": 12}}, 200)
    assert result["merged"] == [dup1["id"], dup2["id"]]
    assert result["moved"] == {"deal.company": 2, "company.parent": 1, "task.related_to": 1}
    record = result["record"]
    assert record["id"] == master["id"] and record["website"] == "https://acme.com" and record["employees"] == 12
    assert record["parent"] is None                           # it pointed to a duplicate: not to itself
    for gone in (dup1, dup2):
        assert api.get(f"/api/v1/records/company/{gone['id']}").status_code == 404
    for deal in deals:
        assert api.get(f"/api/v1/records/deal/{deal['id']}").get_json()["company"] == master["id"]
    assert api.get(f"/api/v1/records/company/{child['id']}").get_json()["parent"] == master["id"]
    assert api.get(f"/api/v1/records/task/{task['id']}").get_json()["related_to"]["id"] == master["id"]
    history = api.get(f"/api/v1/records/company/{master['id']}/history").get_json()["entries"]
    fields = [(e["field"], e["new_value"]) for e in history]
    assert ("employees", 12) in fields and ("parent", None) in fields   # dup1's own history came along
    child_history = api.get(f"/api/v1/records/company/{child['id']}/history").get_json()["entries"]
    assert (child_history[0]["field"], child_history[0]["new_value"]) == ("parent", master["id"])


def test_bad_merges_change_nothing(api, services, client_for):
    master, dup = company(api, name="One"), company(api, name="Two")
    deal = post(api, "/api/v1/records/deal", {"name": "Deal", "company": dup["id"]}, 201)
    url = "/api/v1/records/company/merge"
    assert post(api, url, {"master": master["id"], "duplicates": [master["id"]]}, 422)["error"]["fields"]["duplicates"]
    assert post(api, url, {"master": master["id"], "duplicates": []}, 422)
    assert post(api, url, {"master": master["id"], "duplicates": [dup["id"], dup["id"]]}, 422)
    assert post(api, url, {"master": master["id"], "duplicates": [dup["id"]], "extra": 1}, 422)["error"]["fields"] == {
        "extra": ["is not a merge property"]}
    assert post(api, url, {"master": 5, "duplicates": [dup["id"]]}, 422)
    assert post(api, url, {"duplicates": [dup["id"]]}, 422)["error"]["fields"] == {"master": ["is required"]}
    post(api, url, {"master": master["id"], "duplicates": [deal["id"]]}, 404)           # not a company
    post(api, "/api/v1/records/nothing/merge", {"master": master["id"], "duplicates": [dup["id"]]}, 404)
    # a failing last step rolls the whole merge back
    body = post(api, url, {"master": master["id"], "duplicates": [dup["id"]], "values": {"nope": 1}}, 422)
    assert "nope" in body["error"]["fields"]
    assert api.get(f"/api/v1/records/company/{dup['id']}").status_code == 200
    assert api.get(f"/api/v1/records/deal/{deal['id']}").get_json()["company"] == dup["id"]
    # a rep may not delete companies: 403; nor merge what they cannot see: 404
    user, _ = services.identity.create_user("rep", password=PASSWORD, last_name="Rep", profile="tp_rep",
                                            role="tp_worker")
    rep = client_for(user)
    mine = post(rep, "/api/v1/records/company", {"name": "Mine"}, 201)
    post(rep, url, {"master": mine["id"], "duplicates": [dup["id"]]}, 403)
    assert api.get(f"/api/v1/records/company/{dup['id']}").status_code == 200
    assert api.get("/api/v1/records/company/merge").status_code == 405
    assert "/records/company/merge" in api.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/records/company/merge" not in rep.get("/api/v1/openapi.json").get_json()["paths"]


def test_attachments_move_once(api, services):
    master, dup = company(api, name="Keep"), company(api, name="Merge me")
    shared = services.files.upload(SYSTEM, io.BytesIO(b"both"), "both.txt", attach_to=("company", master["id"]))
    services.files.upload(SYSTEM, io.BytesIO(b"dup only"), "dup.txt", attach_to=("company", dup["id"]))
    with services.engine.begin() as conn:   # the same file on both: kept once on the master
        conn.execute(file_links.insert().values(file_id=uuid.UUID(shared["id"]), object="company",
                                                record_id=uuid.UUID(dup["id"]), created_at=datetime.now(timezone.utc)))
    result = post(api, "/api/v1/records/company/merge", {"master": master["id"], "duplicates": [dup["id"]]}, 200)
    assert result["moved"] == {"attachments": 1}
    names = sorted(f["name"] for f in services.files.attachments(SYSTEM, "company", master["id"]))
    assert names == ["both.txt", "dup.txt"]
