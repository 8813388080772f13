"""GET /api/v1/records/{object}/aggregate (web/api_aggregate.py): grouped figures as JSON, errors as
the rest of the API, described in the OpenAPI document. Both databases."""
from __future__ import annotations

import pytest

URL = "/api/v1/records/deal/aggregate"


@pytest.fixture
def data(api):
    energy = api.post("/api/v1/records/company", json={"name": "Volt", "industry": "Energy"}).get_json()["id"]
    for amount, stage, close, company in [(100, "New", "2026-01-10", energy), (50.5, "New", "2026-02-03", None),
                                          (7, "Working", "2026-02-20", energy), (None, "Working", None, None)]:
        body = {"name": "D", "amount": amount, "stage": stage, "close_date": close, "company": company}
        assert api.post("/api/v1/records/deal", json=body).status_code == 201


def test_groups_with_typed_values_and_blank_keys(api, data):
    r = api.get(URL, query_string={"group_by": "company.industry,close_date:month",
                                   "metrics": "count,sum:amount,avg:amount,max:close_date", "sort": "-count"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["group_by"] == ["company.industry", "close_date:month"] and not body["truncated"]
    assert body["metrics"] == ["count", "sum:amount", "avg:amount", "max:close_date"]
    got = {(g["key"]["company.industry"], g["key"]["close_date:month"]): g["values"] for g in body["groups"]}
    assert got == {
        ("Energy", "2026-01-01"): {"count": 1, "sum:amount": 100.0, "avg:amount": 100.0, "max:close_date": "2026-01-10"},
        ("Energy", "2026-02-01"): {"count": 1, "sum:amount": 7.0, "avg:amount": 7.0, "max:close_date": "2026-02-20"},
        (None, "2026-02-01"): {"count": 1, "sum:amount": 50.5, "avg:amount": 50.5, "max:close_date": "2026-02-03"},
        (None, None): {"count": 1, "sum:amount": None, "avg:amount": None, "max:close_date": None}}


def test_defaults_one_group_counting_every_visible_record(api, data):
    body = api.get(URL).get_json()
    assert body == {"group_by": [], "metrics": ["count"], "groups": [{"key": {}, "values": {"count": 4}}],
                    "truncated": False}
    body = api.get(URL, query_string={"group_by": "stage", "filter": "amount > 10", "limit": 1,
                                      "metrics": "sum:amount", "sort": "stage"}).get_json()
    assert body["groups"] == [{"key": {"stage": "New"}, "values": {"sum:amount": 150.5}}] and not body["truncated"]
    body = api.get(URL, query_string={"group_by": "stage", "limit": 1}).get_json()
    assert body["truncated"] and len(body["groups"]) == 1


@pytest.mark.parametrize("params, status, fragment", [
    ({"metrics": "sum:name"}, 400, "sum:name"),
    ({"group_by": "nosuch"}, 400, "nosuch"),
    ({"group_by": "stage:year"}, 400, "stage:year"),
    ({"sort": "amount"}, 400, "amount"),
    ({"filter": "amount >"}, 400, "filter"),
    ({"limit": "2001"}, 400, "limit"),
    ({"limit": "x"}, 400, "limit"),
    ({"nosuch": "1"}, 400, "nosuch"),
    ({"group_by": ["stage", "stage"]}, 400, "group_by"),
])
def test_bad_input_is_a_400_naming_it(api, data, params, status, fragment):
    r = api.get(URL, query_string=params)
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "bad_query" and fragment in error["message"]


def test_unknown_object_is_404(api):
    r = api.get("/api/v1/records/nosuch/aggregate")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_sharing_hidden_fields_and_unreadable_objects(api, services, client_for):
    made = {}
    for name, profile in (("rep", "tp_rep"), ("peer", "tp_rep"), ("viewer", "tp_viewer")):
        user, _ = services.identity.create_user(name, password="velvet-orbit-quarry-3", last_name=name.title(),
                                                profile=profile, role="tp_worker")
        made[name] = client_for(user)
    for client, amount in ((made["rep"], 10), (made["rep"], 15), (made["peer"], 4), (api, 1000)):
        assert client.post("/api/v1/records/deal", json={"name": "D", "amount": amount}).status_code == 201
    assert made["rep"].get(URL, query_string={"metrics": "sum:amount"}).get_json()["groups"] == [
        {"key": {}, "values": {"sum:amount": 25.0}}]
    assert api.get(URL, query_string={"metrics": "sum:amount"}).get_json()["groups"][0]["values"] == {
        "sum:amount": 1029.0}
    hidden = made["rep"].get("/api/v1/records/company/aggregate", query_string={"group_by": "code"})
    assert hidden.status_code == 400 and "code" in hidden.get_json()["error"]["message"]
    forbidden = made["viewer"].get("/api/v1/records/memo/aggregate")
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"


def test_the_route_is_in_the_openapi_document_for_readable_objects_only(api, services, client_for):
    doc = api.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/records/deal/aggregate"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"group_by", "metrics", "filter", "sort", "limit"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("AggregateResult")
    user, _ = services.identity.create_user("viewer", password="velvet-orbit-quarry-3", last_name="V",
                                            profile="tp_viewer")
    viewer_doc = client_for(user).get("/api/v1/openapi.json").get_json()
    assert "/records/deal/aggregate" in viewer_doc["paths"] and "/records/memo/aggregate" not in viewer_doc["paths"]


def test_post_is_405_not_a_record_route(api):
    r = api.post(URL, json={})
    assert r.status_code == 405
