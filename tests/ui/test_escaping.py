"""Metadata labels and record values are text on every page: script payloads stored in a label
(through an org extension, applied by the change pipeline) and in record values come out escaped."""
from __future__ import annotations

import pytest

from tessera.meta.source import empty_org

SCRIPT = "<script>window.pwned=1</script>"
IMG = '"><img src=x onerror=window.pwned=1>'


@pytest.fixture
def hostile_metadata(services):
    org = empty_org()
    org["components"]["objects"]["company"] = {"source": "org/objects/company.yaml", "doc": {
        "extends": "company", "label": SCRIPT,
        "fields": {"name": {"label": IMG, "help": SCRIPT},
                   "flavour": {"type": "picklist", "label": SCRIPT, "values": [IMG, "plain"]}}}}
    org["components"]["list_views"]["hostile"] = {"source": "org/list_views/hostile.yaml", "doc": {
        "name": "hostile", "object": "company", "label": IMG, "columns": ["name", "flavour", "industry"]}}
    org["components"]["layouts"]["company"] = {"source": "org/layouts/company.yaml", "doc": {
        "name": "company", "object": "company", "sections": [{"label": SCRIPT, "fields": ["name", "flavour", "notes"]}]}}
    services.changes.apply_org(org, author="test", message="hostile labels")


def assert_escaped(html: str):
    assert "<script>window.pwned" not in html
    assert "<img src=x onerror" not in html and 'onerror="window' not in html


def test_labels_and_values_are_escaped_everywhere(admin, services, hostile_metadata, make_record):
    c = make_record("company", {"name": SCRIPT + IMG, "flavour": IMG,
                                "notes": "<p>ok</p>" + SCRIPT + '<img src=x onerror="window.pwned=1">'})
    make_record("deal", {"name": IMG, "company": c["id"], "stage": "New"})
    pages = ["/app/", "/app/testapp", "/app/testapp/company", "/app/testapp/company?view=hostile",
             f"/app/testapp/company?q={IMG}", "/app/testapp/company?f.flavour=" + IMG,
             f"/app/testapp/company/{c['id']}", f"/app/testapp/company/{c['id']}/edit", "/app/testapp/company/new",
             "/app/testapp/company/kanban?field=flavour", "/app/testapp/deal/kanban", "/app/search?q=script",
             "/app/testapp/deal"]
    shown = 0
    for url in pages:
        html = admin.html(url)
        assert_escaped(html)
        shown += "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html or "&#34;&gt;&lt;img" in html
    assert shown >= len(pages) - 3       # the payloads are on the pages, as text
    record = admin.html(f"/app/testapp/company/{c['id']}")
    assert "<p>ok</p>" in record                     # sanitized rich text is the one thing rendered as HTML
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=window.pwned=1&gt;" in record
    form = admin.html(f"/app/testapp/company/{c['id']}/edit")
    assert 'value="&lt;script&gt;window.pwned=1&lt;/script&gt;&#34;&gt;&lt;img' in form
    assert '<option value="&#34;&gt;&lt;img src=x onerror=window.pwned=1&gt;" selected>' in form
    # the JSON endpoints return escaped HTML for display too
    r = admin.get(f"/app/_api/records/company/{c['id']}/editor/name")
    assert "<script>" not in r.get_json()["html"] and "<img" not in r.get_json()["html"]
    r = admin.patch_json(f"/app/_api/records/company/{c['id']}", {"values": {"flavour": IMG}})
    assert "<img" not in r.get_json()["display"]["flavour"]


def test_error_messages_are_escaped(admin):
    r = admin.get("/app/" + "%3Cscript%3Ex%3C%2Fscript%3E")
    assert r.status_code == 404 and "<script>x" not in r.get_data(as_text=True)
    r = admin.post("/app/testapp/company/new", {"name": "x", "website": IMG})
    assert r.status_code == 422 and "<img src=x" not in r.get_data(as_text=True)
