"""Nothing malformed ever produces a 500: random bodies, query strings, ids and headers."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                         st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8)
field_names = st.sampled_from(["name", "code", "industry", "revenue", "employees", "website", "email", "active",
                               "founded", "last_contacted", "opens_at", "tags", "notes", "settings", "parent",
                               "num_deals", "display", "id", "owner", "created_at", "row_version", "nope"])
bodies = st.dictionaries(field_names, json_values, max_size=6)
query_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(body=st.one_of(bodies, json_values))
def test_random_create_bodies(api, body):
    r = api.post("/api/v1/records/company", json=body)
    assert r.status_code < 500, (body, r.get_json())
    assert r.status_code in (201, 400, 403, 409, 422)


@SETTINGS
@given(body=bodies, etag=st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)))
def test_random_patch_bodies(api, body, etag):
    rec = api.post("/api/v1/records/company", json={"name": "Fuzz"}).get_json()
    headers = {"If-Match": etag} if etag is not None else None
    r = api.patch(f"/api/v1/records/company/{rec['id']}", json=body, headers=headers)
    assert r.status_code < 500, (body, r.get_json())


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["filter", "sort", "fields", "limit", "cursor", "count", "x"]),
                              query_text, max_size=4))
def test_random_query_strings(api, params):
    r = api.get("/api/v1/records/deal", query_string=params)
    assert r.status_code < 500, (params, r.get_json())
    assert r.status_code in (200, 400)


@SETTINGS
@given(obj=query_text, rid=query_text)
def test_random_paths(api, obj, rid):
    for method in (api.get, api.delete):
        r = method(f"/api/v1/records/{obj}/{rid}")
        assert r.status_code < 500


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_random_raw_bytes(api, raw):
    r = api.raw.post("/api/v1/records/company", data=raw, headers={
        "Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})
    assert r.status_code < 500
