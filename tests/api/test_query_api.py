"""List queries: filter, sort, fields through lookups, keyset pagination, count, bad input."""
from __future__ import annotations

import pytest


@pytest.fixture
def data(api):
    companies = []
    for i, (industry, revenue) in enumerate([("Energy", 500), ("Retail", 2_000_000), ("Energy", None),
                                             ("Banking", 3_000_000), ("Technology", 750), ("Retail", 500)]):
        body = {"name": f"Co{i}", "industry": industry}
        if revenue is not None:
            body["revenue"] = revenue
        companies.append(api.post("/api/v1/records/company", json=body).get_json())
    api.post("/api/v1/records/deal", json={"name": "Big", "company": companies[1]["id"], "amount": 99})
    return companies


def names(resp):
    return [r["name"] for r in resp.get_json()["records"]]


def test_filter_and_sort(api, data):
    r = api.get("/api/v1/records/company", query_string={"filter": "industry == 'Energy'", "sort": "name"})
    assert r.status_code == 200 and names(r) == ["Co0", "Co2"]
    r = api.get("/api/v1/records/company", query_string={"filter": "revenue > 1000", "sort": "-revenue"})
    assert names(r) == ["Co3", "Co1"]
    r = api.get("/api/v1/records/company", query_string={"sort": "revenue,-name"})
    assert names(r) == ["Co5", "Co0", "Co4", "Co1", "Co3", "Co2"]  # blanks last
    r = api.get("/api/v1/records/company", query_string={"filter": "num_deals > 0"})
    assert names(r) == ["Co1"]
    r = api.get("/api/v1/records/company", query_string={"filter": "CONTAINS(display, 'Retail')", "sort": "name"})
    assert names(r) == ["Co1", "Co5"]


def test_fields_through_lookups(api, data):
    r = api.get("/api/v1/records/deal", query_string={"fields": "name,company.name,company.industry"})
    rec = r.get_json()["records"][0]
    assert rec == {"id": rec["id"], "name": "Big", "company.name": "Co1", "company.industry": "Retail"}
    r = api.get("/api/v1/records/deal", query_string={"filter": "company.industry == 'Retail'"})
    assert len(r.get_json()["records"]) == 1


def test_keyset_pagination_is_stable_under_inserts(api, data):
    seen = []
    cursor = None
    pages = 0
    while True:
        q = {"limit": 2, "sort": "-revenue,name"}
        if cursor:
            q["cursor"] = cursor
        body = api.get("/api/v1/records/company", query_string=q).get_json()
        seen += [r["name"] for r in body["records"]]
        cursor = body["next_cursor"]
        pages += 1
        if pages == 1:  # an insert sorting before the cursor must not shift later pages
            api.post("/api/v1/records/company", json={"name": "Aaa", "revenue": 9_000_000})
        if not cursor:
            break
    assert seen == ["Co3", "Co1", "Co4", "Co0", "Co5", "Co2"]


def test_count(api, data):
    body = api.get("/api/v1/records/company", query_string={"count": "true", "limit": 1,
                                                           "filter": "industry in ['Energy', 'Retail']"}).get_json()
    assert body["total"] == 4 and len(body["records"]) == 1 and body["next_cursor"]


@pytest.mark.parametrize("params, fragment", [
    ({"filter": "revenue >"}, "filter"),
    ({"filter": "nosuch == 1"}, "nosuch"),
    ({"filter": "name > 5"}, "filter"),
    ({"filter": "__import__('os').system('echo hi')"}, "filter"),
    ({"filter": "name == 'x'; DROP TABLE obj_company"}, "filter"),
    ({"filter": "1) OR 1=1 --"}, "filter"),
    ({"sort": "nosuch"}, "nosuch"),
    ({"sort": "name; DROP TABLE obj_company"}, "sort"),
    ({"fields": "name,nosuch"}, "nosuch"),
    ({"fields": "name,(select 1)"}, "fields"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"cursor": "garbage"}, "cursor"),
    ({"count": "maybe"}, "count"),
    ({"bogus": "1"}, "bogus"),
])
def test_bad_queries_are_400(api, data, params, fragment):
    r = api.get("/api/v1/records/company", query_string=params)
    assert r.status_code == 400, r.get_json()
    err = r.get_json()["error"]
    assert err["code"] == "bad_query" and fragment in err["message"]
    assert len(api.get("/api/v1/records/company").get_json()["records"]) == 6


def test_cursor_from_another_query_is_rejected(api, data):
    body = api.get("/api/v1/records/company", query_string={"limit": 1, "sort": "name"}).get_json()
    r = api.get("/api/v1/records/company", query_string={"limit": 1, "sort": "-name", "cursor": body["next_cursor"]})
    assert r.status_code == 400
