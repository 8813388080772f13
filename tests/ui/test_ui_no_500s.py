"""Nothing malformed ever produces a 500 on the end-user pages: random query strings on the list,
kanban, search, lookup and form pages, and random paths for objects and record ids."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
LIST_ARGS = ["view", "saved", "q", "sort", "cursor", "cols", "limit", "back", "f.industry", "f.tags", "f.nope",
             "field", "app", "_clone", "name", "revenue", "company", "x"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def record_id(make_record):
    return make_record("company", {"name": "Acme", "industry": "Energy"})["id"]


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(LIST_ARGS), text, max_size=5),
       page=st.sampled_from(["/app/testapp/company", "/app/testapp/company/kanban", "/app/search",
                             "/app/_api/lookup/company", "/app/testapp/company/new", "/app/testapp/deal/new"]))
def test_random_query_strings(admin, record_id, params, page):
    r = admin.get(page, query_string=params)
    assert r.status_code < 500, (page, params, r.get_data(as_text=True)[:500])


@SETTINGS
@given(obj=text, rid=text, suffix=st.sampled_from(["", "/edit", "/clone", "/kanban"]))
def test_random_paths(admin, record_id, obj, rid, suffix):
    for path in (f"/app/testapp/{obj}/{rid}{suffix}", f"/app/testapp/company/{rid}{suffix}",
                 f"/app/{obj}/company/{record_id}", f"/app/_api/records/company/{rid}/editor/{obj}"):
        r = admin.get(path)
        assert r.status_code < 500, (path, r.get_data(as_text=True)[:500])


@SETTINGS
@given(body=st.dictionaries(text, st.one_of(text, st.integers(), st.none(), st.lists(text, max_size=2)), max_size=4))
def test_random_inline_edits(admin, record_id, body):
    r = admin.patch_json(f"/app/_api/records/company/{record_id}", body)
    assert r.status_code < 500, (body, r.get_data(as_text=True)[:500])


@SETTINGS
@given(form=st.dictionaries(st.sampled_from(["name", "industry", "revenue", "employees", "founded", "opens_at",
                                             "active", "tags", "parent", "website", "settings", "owner", "nope"]),
                            text, max_size=6),
       page=st.sampled_from(["/app/testapp/company/new", "EDIT"]))
def test_random_form_posts(admin, record_id, form, page):
    url = f"/app/testapp/company/{record_id}/edit" if page == "EDIT" else page
    r = admin.post(url, form)
    assert r.status_code < 500, (url, form, r.get_data(as_text=True)[:500])
