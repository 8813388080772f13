"""Field history through the REST API: what is recorded (tracked fields whose value changed, by
whom), who may read it (record visibility, field-level security), paging, and that history goes
with its record."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tessera.meta.source import load_package
from tessera.security.actor import SYSTEM
from tessera.storage.platform_tables import field_history

TESTPKG = Path(__file__).resolve().parents[1] / "fixtures" / "testpkg"
MISSING_ID = "5c7d1c9e-2b8a-4d53-a9a4-9b8c0c6f1a11"


def history(client, object_name, record_id, **params):
    r = client.get(f"/api/v1/records/{object_name}/{record_id}/history", query_string=params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def changes(client, object_name, record_id) -> dict:
    """field -> (old, new) of every entry (each field changed once in these tests)."""
    return {e["field"]: (e["old_value"], e["new_value"]) for e in history(client, object_name, record_id)["entries"]}


def create(client, object_name, **fields):
    r = client.post(f"/api/v1/records/{object_name}", json=fields)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def patch(client, object_name, record, **fields):
    r = client.patch(f"/api/v1/records/{object_name}/{record['id']}", json=fields)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.fixture
def people(services, client_for):
    """A rep (tp_rep cannot read company.code) and a peer who cannot see the rep's records."""
    out = {}
    for name in ("rep", "peer"):
        user, _ = services.identity.create_user(name, password="velvet-orbit-quarry-3", last_name=name.title(),
                                                profile="tp_rep", role="tp_worker")
        out[name] = (user, client_for(user))
    return out


def test_a_change_to_a_tracked_field_is_recorded_with_old_new_value_and_user(api, services):
    admin_id = services.identity.find_user("admin")["id"]
    company = create(api, "company", name="Acme", industry="Energy", revenue=100, website="https://a.example",
                     founded="2001-02-03", tags=["partner"])
    assert history(api, "company", company["id"]) == {"entries": [], "next_cursor": None}  # creation is no entry
    patch(api, "company", company, industry="Retail", revenue=250.5, employees=7, founded="2002-03-04",
          tags=["partner", "customer"], name="Acme")
    page = history(api, "company", company["id"])
    by_field = {e["field"]: e for e in page["entries"]}
    # name did not change (same value); website is not tracked (track_history: false)
    assert set(by_field) == {"industry", "revenue", "employees", "founded", "tags"}
    assert (by_field["industry"]["old_value"], by_field["industry"]["new_value"]) == ("Energy", "Retail")
    assert (by_field["revenue"]["old_value"], by_field["revenue"]["new_value"]) == (100, 250.5)
    assert (by_field["employees"]["old_value"], by_field["employees"]["new_value"]) == (None, 7)
    assert (by_field["founded"]["old_value"], by_field["founded"]["new_value"]) == ("2001-02-03", "2002-03-04")
    assert by_field["tags"]["new_value"] == ["partner", "customer"]   # the API representation
    for entry in page["entries"]:
        assert entry["changed_by"] == admin_id and entry["changed_at"].endswith("Z")
    patch(api, "company", company, website="https://b.example", industry="Retail")
    assert len(history(api, "company", company["id"])["entries"]) == 5   # nothing new: untracked, unchanged


def test_owner_changes_are_tracked_with_the_object(api, people):
    rep, _ = people["rep"]
    company = create(api, "company", name="Acme")
    patch(api, "company", company, owner=rep["id"])
    assert changes(api, "company", company["id"]) == {"owner": (company["owner"], rep["id"])}


def test_a_field_can_opt_in_on_an_untracked_object(api):
    deal = create(api, "deal", name="Big", amount=10)
    patch(api, "deal", deal, stage="Working", amount=20)   # deal tracks only stage
    assert changes(api, "deal", deal["id"]) == {"stage": ("New", "Working")}


def test_a_refused_write_leaves_no_history(api):
    deal = create(api, "deal", name="Big")
    r = api.patch(f"/api/v1/records/deal/{deal['id']}", json={"stage": "Closed"})   # a closed deal needs an amount
    assert r.status_code == 422
    assert history(api, "deal", deal["id"])["entries"] == []


def test_entries_of_fields_the_reader_cannot_read_are_left_out(api, people):
    rep, rep_client = people["rep"]
    company = create(api, "company", name="Acme", code="A1", industry="Energy", owner=rep["id"])
    patch(api, "company", company, code="A2", industry="Banking")
    assert set(changes(api, "company", company["id"])) == {"code", "industry"}
    assert changes(rep_client, "company", company["id"]) == {"industry": ("Energy", "Banking")}   # code is hidden


def test_history_of_a_record_the_reader_cannot_see_is_404(api, people):
    rep, _ = people["rep"]
    _, peer_client = people["peer"]
    company = create(api, "company", name="Acme", owner=rep["id"])
    patch(api, "company", company, industry="Energy")
    for url in (f"/api/v1/records/company/{company['id']}/history",   # hidden: same answer as missing
                f"/api/v1/records/company/{MISSING_ID}/history",
                "/api/v1/records/company/not-an-id/history",
                f"/api/v1/records/nothing/{company['id']}/history"):
        r = peer_client.get(url)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found", url


def test_history_is_paged_newest_first(api):
    company = create(api, "company", name="Acme")
    for n in range(1, 6):
        patch(api, "company", company, employees=n)
    seen, cursor = [], None
    while True:
        page = history(api, "company", company["id"], limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["entries"]) <= 2
        seen += [e["new_value"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("params, fragment", [
    ({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"limit": "1001"}, "limit"),
    ({"cursor": "forged"}, "cursor"), ({"sort": "field"}, "unknown query parameter"),
])
def test_bad_paging_parameters_are_400(api, params, fragment):
    company = create(api, "company", name="Acme")
    r = api.get(f"/api/v1/records/company/{company['id']}/history", query_string=params)
    assert r.status_code == 400 and fragment in r.get_json()["error"]["message"]


def test_a_cursor_is_bound_to_its_record_and_reader(api, people):
    rep, rep_client = people["rep"]
    first = create(api, "company", name="One", owner=rep["id"])
    other = create(api, "company", name="Two", owner=rep["id"])
    for n in range(3):
        patch(api, "company", first, employees=n + 1)
    cursor = history(api, "company", first["id"], limit=1)["next_cursor"]
    assert cursor
    assert api.get(f"/api/v1/records/company/{other['id']}/history?cursor={cursor}").status_code == 400
    assert rep_client.get(f"/api/v1/records/company/{first['id']}/history?cursor={cursor}").status_code == 400


def _entries(services, object_name, record_id) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(field_history).where(
            field_history.c.object == object_name, field_history.c.record_id == uuid.UUID(record_id))).scalar_one()


def test_deleting_a_record_deletes_its_history_and_its_cascaded_childrens(api, services):
    deal = create(api, "deal", name="Big")
    item = create(api, "deal_item", name="Widget", deal=deal["id"], quantity=1)
    patch(api, "deal", deal, stage="Working")
    patch(api, "deal_item", item, quantity=2)
    keep = create(api, "deal", name="Other")
    patch(api, "deal", keep, stage="Working")
    assert _entries(services, "deal", deal["id"]) == 1 and _entries(services, "deal_item", item["id"]) == 1
    assert api.delete(f"/api/v1/records/deal/{deal['id']}").status_code == 204
    assert _entries(services, "deal", deal["id"]) == 0
    assert _entries(services, "deal_item", item["id"]) == 0   # deleted by the master-detail cascade
    assert _entries(services, "deal", keep["id"]) == 1


def test_history_through_the_record_service(services):
    company = services.records.create(SYSTEM, "company", {"name": "Acme"})
    services.records.update(SYSTEM, "company", company["id"], {"industry": "Energy"})
    result = services.records.history(SYSTEM, "company", company["id"])
    assert [(e["field"], e["old_value"], e["new_value"]) for e in result.records] == [("industry", None, "Energy")]
    assert result.next_cursor is None


def test_history_follows_a_renamed_field_and_goes_with_a_dropped_one(api, services, tmp_path):
    company = create(api, "company", name="Acme", founded="2001-02-03", employees=1)
    patch(api, "company", company, founded="2002-03-04", employees=2)
    pkg = shutil.copytree(TESTPKG, tmp_path / "testpkg")
    doc = yaml.safe_load((pkg / "objects" / "company.yaml").read_text())
    doc["fields"] = {("established" if n == "founded" else n): f for n, f in doc["fields"].items() if n != "employees"}
    doc["fields"]["established"]["renamed_from"] = "founded"
    (pkg / "objects" / "company.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    layout = yaml.safe_load((pkg / "layouts" / "company.yaml").read_text())
    layout["sections"][0]["fields"].remove("employees")
    (pkg / "layouts" / "company.yaml").write_text(yaml.safe_dump(layout, sort_keys=False))
    manifest = yaml.safe_load((pkg / "package.yaml").read_text())
    (pkg / "package.yaml").write_text(yaml.safe_dump({**manifest, "version": "1.1.0"}, sort_keys=False))
    # employees is purged with the upgrade (by default it would be kept, deprecated)
    result = services.changes.install_packages([load_package(pkg)], author="test", allow_destructive=True, purge=True)
    assert any("1 field history entry" in note for impact in result.impacts for note in impact.notes)  # the drop
    assert changes(api, "company", company["id"]) == {"established": ("2001-02-03", "2002-03-04")}
    assert _entries(services, "company", company["id"]) == 1   # employees' entry was deleted
