"""List views: metadata views (columns, filter, sort), ad-hoc sort, search, quick filters, keyset
paging, columns, per-user saved views, bulk delete and bulk update with per-row errors, kanban and
the JSON endpoints behind drag and drop, inline edit and lookups."""
from __future__ import annotations

import re
from html import unescape

import pytest

from tessera.security.actor import SYSTEM
from ui_helpers import actor_of


def names_in(html: str) -> list[str]:
    """Record names in the table's name column, in order."""
    table = html.split("<tbody>")[1].split("</tbody>")[0]
    return [unescape(n) for n in re.findall(r'class="record-link">([^<]*)</a>', table)]


@pytest.fixture
def companies(make_record):
    rows = [("Acme", "Energy", 2_000_000), ("Globex", "Retail", 500), ("Initech", "Technology", 5_000_000),
            ("Umbrella", "Energy", None), ("Hooli", "Technology", 1_500_000)]
    return {n: make_record("company", {"name": n, "industry": i, "revenue": r}) for n, i, r in rows}


def test_default_view_and_metadata_view(admin, companies):
    html = admin.html("/app/testapp/company")
    assert "All Companies" in html and "5 items" in html
    assert set(names_in(html)) == set(companies)
    big = admin.html("/app/testapp/company?view=big_companies")     # filter revenue > 1e6, sort -revenue
    assert names_in(big) == ["Initech", "Acme", "Hooli"]
    assert "Big Companies" in big and "Sorted by Revenue ↓" in big
    # an unknown view falls back to the default
    assert set(names_in(admin.html("/app/testapp/company?view=nope"))) == set(companies)


def test_ad_hoc_sort_search_and_quick_filters(admin, companies):
    assert names_in(admin.html("/app/testapp/company?sort=name")) == sorted(companies)
    assert names_in(admin.html("/app/testapp/company?sort=-name")) == sorted(companies, reverse=True)
    html = admin.html("/app/testapp/company?sort=name")
    assert 'href="/app/testapp/company?sort=-name"' in html          # clicking again reverses
    assert names_in(admin.html("/app/testapp/company?sort=bogus)")) != []   # unknown sort ignored
    assert names_in(admin.html("/app/testapp/company?q=ACM")) == ["Acme"]
    assert sorted(names_in(admin.html("/app/testapp/company?f.industry=Energy"))) == ["Acme", "Umbrella"]
    html = admin.html("/app/testapp/company?f.industry=Energy&f.industry=Retail&sort=name")
    assert names_in(html) == ["Acme", "Globex", "Umbrella"]
    assert "Industry:</span> Energy" in html                           # chips
    assert names_in(admin.html("/app/testapp/company?view=big_companies&f.industry=Energy")) == ["Acme"]
    assert names_in(admin.html("/app/testapp/company?q=zzz")) == []


def test_keyset_paging_with_previous(admin, make_record):
    for i in range(23):
        make_record("company", {"name": f"Co {i:02d}"})
    seen = []
    html = admin.html("/app/testapp/company?sort=name&limit=10")
    pages = [names_in(html)]
    while True:
        m = re.search(r'href="([^"]+)" id="next-page"', html)
        if not m:
            break
        html = admin.html(unescape(m.group(1)))
        pages.append(names_in(html))
    for p in pages:
        seen += p
    assert seen == [f"Co {i:02d}" for i in range(23)] and [len(p) for p in pages] == [10, 10, 3]
    assert "21–23 of 23" in html
    prev = re.search(r'href="([^"]+)" id="prev-page"', html).group(1)
    assert names_in(admin.html(unescape(prev))) == [f"Co {i:02d}" for i in range(10, 20)]
    # a forged or stale cursor starts again from the first page instead of failing
    assert names_in(admin.html("/app/testapp/company?sort=name&limit=10&cursor=garbage"))[0] == "Co 00"


def test_columns_can_be_chosen(admin, companies):
    html = admin.html("/app/testapp/company?cols=name,website,created_at")
    head = html.split("<thead>")[1].split("</thead>")[0]
    assert "Website" in head and "Created At" in head and "Industry" not in head
    assert "Industry" in admin.html("/app/testapp/company").split("<thead>")[1].split("</thead>")[0]


def test_saved_views_are_per_user(login, users, services, make_record):
    rep = login("rep")
    actor = actor_of(services, users["rep"])
    for n, i in (("Acme", "Energy"), ("Globex", "Retail")):
        services.records.create(actor, "company", {"name": n, "industry": i})
    r = rep.post("/app/testapp/company/views", {"_name": "My energy", "f.industry": "Energy", "sort": "-name",
                                               "cols": "name,industry"})
    assert r.status_code == 302 and "saved=" in r.headers["Location"]
    saved_id = r.headers["Location"].split("saved=")[1]
    html = rep.html(r.headers["Location"])
    assert names_in(html) == ["Acme"] and "My energy" in html
    assert "My energy" in rep.html("/app/testapp/company")                 # in the view picker
    prefs = services.records.query(SYSTEM, "list_view_preference", fields=["name", "owner", "filters"]).records
    assert prefs == [{"id": saved_id, "name": "My energy", "owner": users["rep"]["id"], "filters": {"industry": ["Energy"]}}]
    # someone else can neither use nor delete it
    rep2 = login("rep2")
    assert "My energy" not in rep2.html(f"/app/testapp/company?saved={saved_id}")
    assert rep2.post(f"/app/testapp/company/views/{saved_id}/delete").status_code == 404
    assert rep.post(f"/app/testapp/company/views/{saved_id}/delete").status_code == 302
    assert services.records.query(SYSTEM, "list_view_preference").records == []


def test_bulk_delete_reports_rows_that_fail(admin, services, companies, make_record):
    make_record("deal", {"name": "Keeps Acme", "company": companies["Acme"]["id"]})   # on_delete restrict
    r = admin.post("/app/testapp/company/bulk", [("_action", "delete"), ("_ids", companies["Acme"]["id"]),
                                                 ("_ids", companies["Globex"]["id"]), ("_return", "/app/testapp/company")])
    assert r.status_code == 302
    html = admin.html("/app/testapp/company")
    assert "Deleted 1 company." in html and "1 could not be deleted" in html and "Acme: " in html
    left = {rec["name"] for rec in services.records.query(SYSTEM, "company", fields=["name"]).records}
    assert "Globex" not in left and "Acme" in left


def test_bulk_update_applies_rules_per_row(admin, services, make_record):
    ok = make_record("deal", {"name": "Has amount", "amount": 10, "stage": "New"})
    bad = make_record("deal", {"name": "No amount", "stage": "New"})
    admin.post("/app/testapp/deal/bulk", [("_action", "update"), ("_field", "stage"), ("_v.stage", "Closed"),
                                          ("_ids", ok["id"]), ("_ids", bad["id"])])
    html = admin.html("/app/testapp/deal")
    assert "Updated 1 deal." in html and "No amount: A closed deal needs an amount." in html
    assert services.records.get(SYSTEM, "deal", ok["id"])["stage"] == "Closed"
    assert services.records.get(SYSTEM, "deal", bad["id"])["stage"] == "New"
    # numbers are converted like in forms; uneditable fields are refused
    admin.post("/app/testapp/deal/bulk", [("_action", "update"), ("_field", "amount"), ("_v.amount", "1,000.5"), ("_ids", bad["id"])])
    assert services.records.get(SYSTEM, "deal", bad["id"])["amount"] == 1000.5
    admin.post("/app/testapp/deal/bulk", [("_action", "update"), ("_field", "number"), ("_v.number", "X"), ("_ids", bad["id"])])
    assert "Choose a field you can edit." in admin.html("/app/testapp/deal")


def test_bulk_needs_rights(login, users, services, make_record):
    c = make_record("company", {"name": "Acme", "owner": users["rep"]["id"]})
    rep = login("rep")                               # tp_rep: company create/read/edit, no delete
    assert 'id="bulk-delete-open"' not in rep.html("/app/testapp/company")
    assert rep.post("/app/testapp/company/bulk", {"_action": "delete", "_ids": c["id"]}).status_code == 403
    assert services.records.get(SYSTEM, "company", c["id"])


def test_kanban_lanes_and_moves(admin, services, make_record):
    a = make_record("deal", {"name": "Deal A", "stage": "New", "amount": 5})
    make_record("deal", {"name": "Deal B", "stage": "Working"})
    html = admin.html("/app/testapp/deal/kanban?field=stage")
    lanes = re.findall(r'<section class="lane" data-value="([^"]*)"', html)
    assert lanes == ["New", "Working", "Closed"]
    assert 'draggable="true"' in html and "Deal A" in html.split('data-value="New"')[1].split("</section>")[0]
    r = admin.patch_json(f"/app/_api/records/deal/{a['id']}", {"values": {"stage": "Closed"}, "app": "testapp"})
    assert r.status_code == 200, r.get_json()
    assert 'tone-' in r.get_json()["display"]["stage"] and services.records.get(SYSTEM, "deal", a["id"])["stage"] == "Closed"
    # a move the record service refuses comes back as an error the card shows
    r = admin.patch_json(f"/app/_api/records/deal/{a['id']}", {"values": {"stage": "New"}})
    assert r.status_code == 422 and r.get_json()["error"]["rules"][0]["message"] == "Closed deals cannot be reopened."
    assert admin.html("/app/testapp/company/kanban?field=industry").count('class="lane"') == 4
    assert admin.get("/app/testapp/memo/kanban").status_code == 404      # no picklist to group by


def test_kanban_is_read_only_without_edit_rights(login, users, make_record):
    make_record("deal", {"name": "Seen", "stage": "New", "owner": users["viewer"]["id"]})
    html = login("viewer").html("/app/testapp/deal/kanban")
    assert "Seen" in html and 'draggable="true"' not in html and "can't be moved" in html


def test_inline_edit_endpoints(admin, services, make_record):
    c = make_record("company", {"name": "Acme", "employees": 5})
    r = admin.get(f"/app/_api/records/company/{c['id']}/editor/employees?app=testapp")
    assert r.status_code == 200 and 'name="employees"' in r.get_json()["html"] and 'value="5"' in r.get_json()["html"]
    r = admin.patch_json(f"/app/_api/records/company/{c['id']}", {"values": {"employees": "1,200"}, "row_version": 1})
    assert r.status_code == 200 and r.get_json()["display"]["employees"] == '<span class="num">1,200</span>'
    assert r.get_json()["row_version"] == 2
    r = admin.patch_json(f"/app/_api/records/company/{c['id']}", {"values": {"employees": "1"}, "row_version": 1})
    assert r.status_code == 412                                      # stale
    r = admin.patch_json(f"/app/_api/records/company/{c['id']}", {"values": {"employees": "many"}})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["employees"] == ["'many' is not a whole number"]
    r = admin.patch_json(f"/app/_api/records/company/{c['id']}", {"values": {"display": "x"}})
    assert r.status_code == 403                                      # a formula
    r = admin.patch_json(f"/app/_api/records/company/{c['id']}", {"values": {"name": "<b>Acme</b>"}})
    assert r.get_json()["display"]["name"] == "&lt;b&gt;Acme&lt;/b&gt;" and r.get_json()["title"] == "<b>Acme</b>"


def test_lookup_search_endpoint(login, users, services, make_record):
    for n in ("Acme", "Acme East", "Globex"):
        make_record("company", {"name": n, "owner": users["rep"]["id"]})
    make_record("company", {"name": "Acme Hidden", "owner": users["rep2"]["id"]})
    rep = login("rep")
    r = rep.get("/app/_api/lookup/company?q=acm")
    assert [x["text"] for x in r.get_json()["results"]] == ["Acme", "Acme East"]    # sharing applies
    assert len(rep.get("/app/_api/lookup/company").get_json()["results"]) == 3
    assert rep.get("/app/_api/lookup/memo?q=a").status_code == 200
    assert login("noapi").get("/app/_api/lookup/deal?q=a").status_code == 403
