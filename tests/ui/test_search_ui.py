"""The /app search page and the top bar's suggestions endpoint (issue 16 §3), both on
RecordService.search: ranked hits grouped by object with the fields they matched in, only what the
user may see; suggestions after 2 characters, recent items when the box is empty."""
from __future__ import annotations

import pytest

from tessera.meta.source import empty_org

SUPPLIER = {"name": "supplier", "fields": {
    "name": {"type": "text", "required": True},
    "email": {"type": "email", "label": "Email", "searchable": True}}}


@pytest.fixture
def suppliers(services):
    org = empty_org()
    org["components"]["objects"]["supplier"] = {"source": "org/objects/supplier.yaml", "doc": SUPPLIER}
    services.changes.apply_org(org, author="test", message="suppliers")
    return services


def test_page_ranks_groups_and_shows_the_matched_field(suppliers, admin, make_record):
    by_email = make_record("supplier", {"name": "Northwind", "email": "orders@quasar-parts.com"})
    make_record("company", {"name": "Quasar Holdings"})
    make_record("company", {"name": "Unrelated"})
    html = admin.html("/app/search?q=quasar")
    assert 'data-object="company"' in html and 'data-object="supplier"' in html
    assert "Quasar Holdings" in html and "Unrelated" not in html
    # found by its email: the email shown, with its label, and a link to the record
    assert f'data-id="{by_email["id"]}"' in html and "orders@quasar-parts.com" in html
    assert '<span class="search-match-label">Email:</span>' in html
    assert f'/supplier/{by_email["id"]}"' in html
    # every word must match, by the beginning of a word, any case
    assert "Quasar Holdings" in admin.html("/app/search?q=QUAS%20hold")
    assert "Quasar Holdings" not in admin.html("/app/search?q=quasar%20nope")


def test_page_explains_a_too_short_query(admin):
    html = admin.html("/app/search?q=q")
    assert 'id="search-problem"' in html and "at least 2 characters" in html


def test_page_hides_what_the_user_may_not_read(admin, login, make_record, users):
    acme = make_record("company", {"name": "Acme Corp", "owner": users["noapi"]["id"]})
    make_record("deal", {"name": "Acme renewal", "company": acme["id"]})
    html = login("noapi").html("/app/search?q=acme")
    assert 'data-object="deal"' not in html and "Acme Corp" in html


def test_suggestions_top_hits_and_recent_items(suppliers, admin, make_record):
    make_record("supplier", {"name": "Northwind", "email": "orders@quasar-parts.com"})
    for i in range(12):
        make_record("company", {"name": f"Quasar {i:02d}"})
    r = admin.get("/app/_api/search?q=qua&app=testapp")
    assert r.status_code == 200
    body = r.get_json()
    assert body["q"] == "qua" and len(body["hits"]) == 8
    ranks = [h["name"] for h in body["hits"]]
    assert all(n.startswith("Quasar") for n in ranks[:7])
    hit = body["hits"][0]
    assert set(hit) >= {"id", "object", "object_label", "name", "url", "icon", "color", "matched"}
    assert hit["url"].startswith("/app/testapp/company/")
    assert body["all_url"] == "/app/search?q=qua&app=testapp"
    # one character: nothing yet; punctuation only: nothing
    assert admin.get("/app/_api/search?q=q").get_json()["hits"] == []
    assert admin.get("/app/_api/search?q=%22*(").get_json()["hits"] == []
    # box text is cleaned as the list search's is: cut to length, control characters dropped
    r = admin.get("/app/_api/search?q=" + "x" * 300 + "%00")
    assert r.status_code == 200 and r.get_json()["hits"] == []
    # empty: the recent items of the app
    r = admin.get("/app/_api/search?q=&app=testapp")
    recent = r.get_json()["recent"]
    assert r.status_code == 200 and recent and all(i["url"].startswith("/app/testapp/") for i in recent)


def test_suggestions_need_a_session(app):
    r = app.test_client().get("/app/_api/search?q=acme")
    assert r.status_code in (401, 302, 403)
