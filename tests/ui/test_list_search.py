"""A list's search box matches every searchable field through the full-text index (issue 16 §3):
within the list's filter and the reader's access, in the list's own sort with keyset paging, the
same rows in its count, its export and its column figures; an object without a full-text index
falls back to its name. The API's list endpoint takes the same `q`. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest

from tessera.meta.source import empty_org
from tessera.security.actor import SYSTEM

USER_PASSWORD = "harbor-violet-ledger-5"   # the ui conftest's password of its users
SUPPLIER = {"name": "supplier", "sharing_model": "private", "fields": {
    "name": {"type": "text", "required": True},
    "email": {"type": "email", "searchable": True},
    "code": {"type": "text", "searchable": True},
    "city": {"type": "text"},
    "tier": {"type": "picklist", "values": ["Gold", "Silver"]},
    "spend": {"type": "number", "precision": 12, "scale": 2}}}
TICKET = {"name": "ticket", "name_field": "number", "fields": {   # an autonumber name: no full-text index
    "number": {"type": "autonumber", "format": "TK-{0000}"},
    "summary": {"type": "text"}}}
BUYER = {"name": "ls_buyer", "label": "Buyer", "system_permissions": ["api_access"],
         "objects": {"supplier": ["create", "read", "edit"], "ticket": ["read"], "company": ["read"],
                     "user": ["read"]},
         "fields": {"supplier": {"code": []}}}


@pytest.fixture
def org(services):
    org = empty_org()
    comps = org["components"]
    for doc in (SUPPLIER, TICKET):
        comps["objects"][doc["name"]] = {"source": f"org/objects/{doc['name']}.yaml", "doc": doc}
    comps["profiles"]["ls_buyer"] = {"source": "org/profiles/ls_buyer.yaml", "doc": BUYER}
    services.changes.apply_org(org, author="test", message="suppliers and tickets")
    return services


def names_in(html: str) -> list[str]:
    table = html.split("<tbody>")[1].split("</tbody>")[0]
    return [unescape(n) for n in re.findall(r'class="record-link">([^<]*)</a>', table)]


def count_in(html: str) -> str:
    return re.search(r'<span id="list-count">([^<]*)</span>', html).group(1)


def next_url(html: str) -> str | None:
    m = re.search(r'<a[^>]*href="([^"]*cursor=[^"]*)"[^>]*>\s*Next', html) or \
        re.search(r'href="([^"]*cursor=[^"]*)"', html)
    return unescape(m.group(1)) if m else None


def _suppliers(records):
    rows = [("Northwind", "orders@quasar-parts.com", "Q-100", "Oslo", "Gold", 10),
            ("Quasar Holdings", None, "H-1", "Paris", "Silver", 20),
            ("Unrelated Ltd", "hello@elsewhere.com", "QUASAR-7", "Oslo", "Gold", 40),
            ("Blue Harbor", "quasar@blue.example", None, "Rome", "Silver", 80)]
    return {name: records.create(SYSTEM, "supplier", {"name": name, "email": email, "code": code, "city": city,
                                                      "tier": tier, "spend": spend})
            for name, email, code, city, tier, spend in rows}


def test_search_box_matches_every_searchable_field_within_the_filter(org, admin):
    _suppliers(org.records)
    html = admin.html("/app/testapp/supplier?q=quasar&sort=name")
    # the name, the email and the code match, by the beginning of a word; the city is not searchable
    assert names_in(html) == ["Blue Harbor", "Northwind", "Quasar Holdings", "Unrelated Ltd"]
    assert count_in(html) == "4 items" and "Matches</span> “quasar”" in html
    assert names_in(admin.html("/app/testapp/supplier?q=QUAS%20parts&sort=name")) == ["Northwind"]   # every word
    assert names_in(admin.html("/app/testapp/supplier?q=oslo")) == []                 # not a searchable field
    assert names_in(admin.html("/app/testapp/supplier?q=uasar")) == []                # words match by prefix
    # within the list's quick filter and typed condition, in the list's sort
    assert names_in(admin.html("/app/testapp/supplier?q=quasar&f.tier=Gold&sort=-name")) == ["Unrelated Ltd", "Northwind"]
    assert names_in(admin.html("/app/testapp/supplier?q=quasar&where=spend%20%3E%2015&sort=spend")) == [
        "Quasar Holdings", "Unrelated Ltd", "Blue Harbor"]
    # the column figures count the same rows as the page
    html = admin.html("/app/testapp/supplier?q=quasar&f.tier=Gold&agg=sum:spend&cols=name,spend")
    cell = re.search(r'<td class="figure-cell[^"]*" data-path="spend">(.*?)</td>', html, re.S).group(1)
    assert re.search(r'data-function="sum"><span class="num">50\.00</span>', cell), cell   # 10 + 40: Gold
    # the export too
    r = admin.get("/app/testapp/supplier/export.csv?q=quasar&f.tier=Silver&sort=name&cols=name")
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["Blue Harbor", "Quasar Holdings"]


def test_search_keeps_sort_and_keyset_paging(org, admin):
    for i in range(13):
        org.records.create(SYSTEM, "supplier", {"name": f"Vendor {i:02d}", "email": f"v{i}@zephyr-{i}.test"})
    org.records.create(SYSTEM, "supplier", {"name": "Other", "email": "o@other.test"})
    html = admin.html("/app/testapp/supplier?q=zephyr&sort=-name&limit=10")
    assert names_in(html) == [f"Vendor {i:02d}" for i in range(12, 2, -1)] and count_in(html) == "13 items"
    second = admin.html(next_url(html))
    assert names_in(second) == ["Vendor 02", "Vendor 01", "Vendor 00"]


def test_search_follows_sharing_and_field_access(org, login, users):
    identity, records = org.identity, org.records
    ann, _ = identity.create_user("ann", password=USER_PASSWORD, profile="ls_buyer", last_name="Ann")
    as_ann = identity.actor_for_user(ann)
    mine = records.create(as_ann, "supplier", {"name": "Tundra Mine"})
    records.update(SYSTEM, "supplier", mine["id"], {"code": "SECRET77"})   # a field Ann may not read
    records.create(SYSTEM, "supplier", {"name": "Tundra Theirs"})          # not shared with Ann
    client = login("ann")
    assert names_in(client.html("/app/testapp/supplier?q=tundra")) == ["Tundra Mine"]
    assert names_in(client.html("/app/testapp/supplier?q=secret77")) == []
    assert names_in(login().html("/app/testapp/supplier?q=secret77")) == ["Tundra Mine"]


def test_an_object_without_an_index_searches_its_name(org, admin):
    for summary in ("Printer jam", "Broken chair", "Printer toner"):
        org.records.create(SYSTEM, "ticket", {"summary": summary})
    html = admin.html("/app/testapp/ticket?q=tk-000&sort=number")
    assert names_in(html) == ["TK-0001", "TK-0002", "TK-0003"]
    assert names_in(admin.html("/app/testapp/ticket?q=0002")) == ["TK-0002"]     # inside the name, as typed
    assert names_in(admin.html("/app/testapp/ticket?q=printer")) == []          # the summary is not searched


def test_api_list_q(org, api, client_for):
    suppliers = _suppliers(org.records)
    r = api.get("/api/v1/records/supplier?q=quasar&sort=name&fields=name&limit=3&count=true")
    assert r.status_code == 200, r.json
    assert [x["name"] for x in r.json["records"]] == ["Blue Harbor", "Northwind", "Quasar Holdings"]
    assert r.json["total"] == 4 and r.json["next_cursor"]
    r = api.get(f"/api/v1/records/supplier?q=quasar&sort=name&fields=name&limit=3&cursor={r.json['next_cursor']}")
    assert [x["name"] for x in r.json["records"]] == ["Unrelated Ltd"]
    # a cursor belongs to its search: replayed with another q it is refused
    first = api.get("/api/v1/records/supplier?q=quasar&sort=name&limit=1").json["next_cursor"]
    r = api.get(f"/api/v1/records/supplier?q=harbor&sort=name&limit=1&cursor={first}")
    assert r.status_code == 400
    r = api.get("/api/v1/records/supplier?q=quasar&filter=city%20%3D%3D%20%27Oslo%27&sort=name")
    assert [x["id"] for x in r.json["records"]] == [suppliers["Northwind"]["id"], suppliers["Unrelated Ltd"]["id"]]
    assert api.get("/api/v1/records/supplier?q=").json["records"].__len__() == 4     # blank: no search
    for bad in ("x" * 201, "acme%00"):
        r = api.get(f"/api/v1/records/supplier?q={bad}")
        assert r.status_code == 400 and r.json["error"]["code"] == "bad_query", r.json
    # hidden fields do not match for a reader who may not read them
    ann, _ = org.identity.create_user("ann", password=USER_PASSWORD, profile="ls_buyer", last_name="Ann")
    as_ann = org.identity.actor_for_user(ann)
    own = org.records.create(as_ann, "supplier", {"name": "Own"})
    org.records.update(SYSTEM, "supplier", own["id"], {"code": "QUASAR-9"})
    assert [x["id"] for x in api.get("/api/v1/records/supplier?q=quasar-9").json["records"]] == [own["id"]]
    assert client_for(ann).get("/api/v1/records/supplier?q=quasar").json["records"] == []
    # the fallback: an object without an index searches its name
    org.records.create(SYSTEM, "ticket", {"summary": "Printer jam"})
    assert [x["number"] for x in api.get("/api/v1/records/ticket?q=tk-00").json["records"]] == ["TK-0001"]
    params = {p["name"] for p in api.get("/api/v1/openapi.json").json["paths"]["/records/supplier"]["get"]["parameters"]}
    assert "q" in params
