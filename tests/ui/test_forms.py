"""Generated create/edit forms: every field type round-trips, errors show next to their fields with
nothing typed lost, field-level security hides or locks fields, clone, delete, related lists."""
from __future__ import annotations

import re

import pytest

from tessera.meta.source import empty_org
from tessera.security.actor import SYSTEM

ALL_FIELDS = ["name", "code", "industry", "revenue", "employees", "website", "email", "active", "founded",
              "last_contacted", "opens_at", "tags", "parent", "owner", "display", "num_deals"]


@pytest.fixture
def full_layout(services):
    """Replace the test package's company layout (org layer) with one showing every field type."""
    org = empty_org()
    org["components"]["layouts"]["company"] = {"source": "org/layouts/company.yaml", "doc": {
        "name": "company", "object": "company", "label": "Company (all fields)",
        "sections": [{"label": "Main", "columns": 2, "fields": ALL_FIELDS},
                     {"label": "Long", "columns": 1, "fields": ["notes", "settings"]}],
        "related_lists": [{"object": "deal", "field": "company", "label": "Deals", "columns": ["name", "amount", "stage"]}]}}
    services.changes.apply_org(org, author="test", message="full company layout")


def location_id(r) -> str:
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    return r.headers["Location"].rstrip("/").split("/")[-1]


def field_errors(html: str) -> dict:
    from html import unescape
    return {m.group(1): unescape(m.group(2)) for m in re.finditer(r'class="invalid-feedback d-block field-error" data-field="([a-z_]+)">([^<]*)<', html)}


def test_every_field_type_round_trips(admin, services, full_layout, make_record):
    parent = make_record("company", {"name": "Parent Co"})
    form = admin.html("/app/testapp/company/new")
    for name in ("name", "code", "industry", "revenue", "employees", "website", "email", "active", "founded",
                 "last_contacted", "opens_at", "tags", "parent", "owner", "notes", "settings"):
        assert f'name="{name}"' in form, name
    assert 'type="datetime-local"' in form and 'type="time"' in form and 'type="date"' in form
    assert 'class="form-control js-multi' in form and 'js-lookup' in form and 'type="url"' in form
    assert 'name="display"' not in form and 'name="num_deals"' not in form   # computed: not on create
    r = admin.post("/app/testapp/company/new", [
        ("name", "Acme"), ("code", "AC1"), ("industry", "Energy"), ("revenue", "1,234.5"), ("employees", "12"),
        ("website", "https://acme.example"), ("email", "info@acme.example"), ("active", "true"),
        ("founded", "2001-02-03"), ("last_contacted", "2024-05-06T07:08:09"), ("opens_at", "08:30"),
        ("tags", "partner"), ("tags", "customer"), ("parent", parent["id"]),
        ("owner", services.identity.find_user("admin")["id"]),
        ("notes", "<p>Hi <b>there</b><script>window.pwned=1</script></p>"), ("settings", '{"a": [1, 2]}')])
    rid = location_id(r)
    rec = services.records.get(SYSTEM, "company", rid)
    assert rec["revenue"] == 1234.5 and rec["employees"] == 12 and rec["active"] is True
    assert rec["founded"] == "2001-02-03" and rec["last_contacted"] == "2024-05-06T07:08:09Z"
    assert rec["opens_at"] == "08:30:00" and rec["tags"] == ["partner", "customer"]
    assert rec["settings"] == {"a": [1, 2]} and rec["parent"] == parent["id"]
    assert "script" not in rec["notes"] and "<b>there</b>" in rec["notes"]
    page = admin.html(f"/app/testapp/company/{rid}")
    assert "$1,234.50" in page and "Energy</span>" in page and '<span class="chip">partner</span>' in page
    assert "Parent Co</a>" in page and "<b>there</b>" in page and "window.pwned" not in page
    assert "May 6, 2024, 7:08 AM" in page and "8:30 AM" in page and "Feb 3, 2001" in page
    assert "mailto:info@acme.example" in page and 'rel="noopener noreferrer nofollow"' in page
    assert "Acme (Energy)" in page   # the formula
    # the edit form shows the stored values back
    edit = admin.html(f"/app/testapp/company/{rid}/edit")
    assert 'value="1234.50"' in edit and 'value="2024-05-06T07:08:09"' in edit and 'value="08:30:00"' in edit
    assert 'data-text="Parent Co"' in edit and '<option value="partner" selected>' in edit
    assert "Acme (Energy)" in edit   # formula shown read-only on edit


def test_datetimes_use_the_users_time_zone(login, services, users, full_layout):
    services.records.update(SYSTEM, "user", users["rep"]["id"], {"time_zone": "Europe/Paris"})
    rep = login("rep")
    rid = location_id(rep.post("/app/testapp/company/new", {"name": "TZ", "last_contacted": "2024-01-15T10:00"}))
    assert services.records.get(SYSTEM, "company", rid)["last_contacted"] == "2024-01-15T09:00:00Z"
    assert "Jan 15, 2024, 10:00 AM" in rep.html(f"/app/testapp/company/{rid}")
    assert 'value="2024-01-15T10:00:00"' in rep.html(f"/app/testapp/company/{rid}/edit")


def test_errors_show_next_to_fields_and_nothing_typed_is_lost(admin, full_layout):
    r = admin.post("/app/testapp/company/new", [("name", ""), ("employees", "-1"), ("code", "KEEP-ME"),
                                                 ("website", "not a url"), ("tags", "partner"), ("notes", "<i>typed</i>")])
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    errors = field_errors(html)
    assert errors["name"] == "is required" and errors["employees"] == "must be at least 0"
    assert "url" in errors["website"]
    assert 'value="KEEP-ME"' in html and 'value="not a url"' in html and 'value="-1"' in html
    assert '<option value="partner" selected>' in html and "&lt;i&gt;typed&lt;/i&gt;</textarea>" in html
    assert "couldn't save" in html and "is-invalid" in html
    # values the form cannot convert are reported the same way
    r = admin.post("/app/testapp/company/new", {"name": "Acme", "employees": "abc", "revenue": "12x"})
    assert r.status_code == 422
    errors = field_errors(r.get_data(as_text=True))
    assert errors["employees"] == "'abc' is not a whole number" and errors["revenue"] == "'12x' is not a number"
    assert 'value="Acme"' in r.get_data(as_text=True)


def test_validation_rule_messages(admin, make_record):
    r = admin.post("/app/testapp/deal/new", {"name": "Neg", "amount": "-5", "stage": "New"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    top = html.split('id="form-errors"')[1].split("</div>\n")[1]
    assert "Amount cannot be negative." in top
    assert field_errors(html)["amount"] == "Amount cannot be negative."
    r = admin.post("/app/testapp/deal/new", {"name": "Closed", "stage": "Closed"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "A closed deal needs an amount." in html and 'value="Closed"' in html


def test_required_markers_and_help(admin):
    html = admin.html("/app/testapp/company/new")
    label = html.split('for="f-name"')[1].split("</label>")[0]
    assert 'class="required-mark"' in label and "Company Name" in label


def test_edit_sends_only_changes_and_detects_conflicts(admin, services, make_record):
    c = make_record("company", {"name": "Acme", "industry": "Energy"})
    edit = admin.html(f"/app/testapp/company/{c['id']}/edit")
    version = re.search(r'name="_row_version" value="(\d+)"', edit).group(1)
    r = admin.post(f"/app/testapp/company/{c['id']}/edit", {"_row_version": version, "name": "Acme Inc",
                                                            "industry": "Energy", "code": "", "revenue": ""})
    assert r.status_code == 302 and r.headers["Location"].endswith(c["id"])
    rec = services.records.get(SYSTEM, "company", c["id"])
    assert rec["name"] == "Acme Inc" and rec["_row_version"] == 2
    # someone else saves in between: the form comes back with the user's values and a message
    services.records.update(SYSTEM, "company", c["id"], {"industry": "Retail"})
    r = admin.post(f"/app/testapp/company/{c['id']}/edit", {"_row_version": "2", "name": "Mine", "industry": "Energy"})
    assert r.status_code == 412
    html = r.get_data(as_text=True)
    assert "Someone else changed this record" in html and 'value="Mine"' in html
    assert services.records.get(SYSTEM, "company", c["id"])["name"] == "Acme Inc"


def test_field_level_security_hides_and_locks_fields(login, services, users, make_record):
    rep = login("rep")                  # tp_rep: company.code hidden ([]), company.revenue read-only
    form = rep.html("/app/testapp/company/new")
    assert 'name="code"' not in form and ">Code<" not in form
    assert 'name="revenue"' not in form and "Revenue" in form      # shown, not editable
    assert 'name="owner"' not in form                               # no transfer right
    # extra inputs are ignored (no mass assignment through the form)
    rid = location_id(rep.post("/app/testapp/company/new", {"name": "Mine", "code": "X1", "revenue": "5", "owner": users["rep2"]["id"]}))
    rec = services.records.get(SYSTEM, "company", rid)
    assert rec["code"] is None and rec["revenue"] is None and rec["owner"] == users["rep"]["id"]
    services.records.update(SYSTEM, "company", rid, {"code": "SECRET-CODE", "revenue": 99})
    page = rep.html(f"/app/testapp/company/{rid}")
    assert "SECRET-CODE" not in page and ">Code<" not in page and "$99.00" in page
    assert 'data-field="revenue"' in page and 'js-inline-edit" data-field="revenue"' not in page
    edit = rep.html(f"/app/testapp/company/{rid}/edit")
    assert "SECRET-CODE" not in edit and 'name="revenue"' not in edit and "$99.00" in edit
    # the JSON endpoints refuse the same fields
    r = rep.patch_json(f"/app/_api/records/company/{rid}", {"values": {"revenue": "1"}})
    assert r.status_code == 403
    assert rep.get(f"/app/_api/records/company/{rid}/editor/code").status_code == 403
    assert rep.get("/app/testapp/company?cols=name,code").status_code == 200
    assert "SECRET-CODE" not in rep.html("/app/testapp/company?cols=name,code&sort=code")


def test_clone_prefills_all_but_unique_fields(admin, make_record):
    c = make_record("company", {"name": "Acme", "code": "UNIQ", "industry": "Retail"})
    r = admin.get(f"/app/testapp/company/{c['id']}/clone")
    assert r.status_code == 302 and "_clone=" in r.headers["Location"]
    html = admin.html(r.headers["Location"])
    assert 'value="Acme"' in html and "UNIQ" not in html and '<option value="Retail" selected>' in html


def test_related_list_new_prefills_the_parent(admin, make_record):
    c = make_record("company", {"name": "Acme"})
    make_record("deal", {"name": "Big deal", "company": c["id"], "amount": 500})
    page = admin.html(f"/app/testapp/company/{c['id']}")
    assert 'data-related="deal"' in page and "Big deal" in page and "$500.00" in page
    new_url = re.search(r'href="(/app/testapp/deal/new\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert f"company={c['id']}" in new_url
    form = admin.html(new_url)
    assert f'name="company" value="{c["id"]}"' in form and 'data-text="Acme"' in form
    r = admin.post("/app/testapp/deal/new", {"name": "Another", "company": c["id"], "stage": "New",
                                            "_return": f"/app/testapp/company/{c['id']}"})
    assert r.headers["Location"] == f"/app/testapp/company/{c['id']}"
    # _return only goes to /app pages
    r = admin.post("/app/testapp/deal/new", {"name": "Third", "stage": "New", "_return": "https://evil.example/"})
    assert r.headers["Location"].startswith("/app/testapp/deal/")


def test_delete_with_confirmation_form(admin, services, make_record):
    c = make_record("company", {"name": "Gone"})
    page = admin.html(f"/app/testapp/company/{c['id']}")
    assert 'id="delete-modal"' in page and f'action="/app/testapp/company/{c["id"]}/delete"' in page
    r = admin.post(f"/app/testapp/company/{c['id']}/delete")
    assert r.status_code == 302 and r.headers["Location"] == "/app/testapp/company"
    assert "was deleted" in admin.html("/app/testapp/company")
    # a delete the record service refuses (restricted by related deals) is reported on the record page
    c = make_record("company", {"name": "Kept"})
    make_record("deal", {"name": "Child", "company": c["id"]})
    r = admin.post(f"/app/testapp/company/{c['id']}/delete")
    assert r.headers["Location"] == f"/app/testapp/company/{c['id']}"
    assert "Not deleted" in admin.html(r.headers["Location"])


def test_read_only_user_sees_no_edit_controls(login, services, users, make_record):
    c = make_record("company", {"name": "Acme", "owner": users["viewer"]["id"]})
    page = login("viewer").html(f"/app/testapp/company/{c['id']}")
    assert "Acme" in page and "js-inline-edit" not in page and 'id="edit-record"' not in page
    assert 'id="delete-record"' not in page
