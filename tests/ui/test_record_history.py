"""The record page's History list: tracked changes, newest first, values shown like the rest of
the page and escaped; fields the user cannot read left out; no list on objects without tracking."""
from __future__ import annotations

import re

from tessera.security.actor import SYSTEM
from ui_helpers import actor_of

SCRIPT = "<script>window.pwned=1</script>"


def history_card(html: str) -> str:
    m = re.search(r'<div class="card related-card mb-3" id="field-history".*?</table>', html, re.S)
    assert m, "the page has no History list"
    return m.group(0)


def test_record_page_shows_the_history_of_tracked_fields(admin, services, make_record):
    company = make_record("company", {"name": "Acme", "industry": "Energy", "revenue": 100, "code": "A"})
    services.records.update(SYSTEM, "company", company["id"], {"industry": "Retail", "revenue": 1234.5,
                                                               "website": "https://example.com"})
    admin_actor = actor_of(services, services.identity.find_user("admin"))
    services.records.update(admin_actor, "company", company["id"], {"name": SCRIPT})
    card = history_card(admin.html(f"/app/testapp/company/{company['id']}"))
    rows = re.findall(r'<tr data-field="([a-z_]+)">', card)
    assert rows[0] == "name" and set(rows) == {"name", "industry", "revenue"}   # newest first; website untracked
    assert "Industry" in card and "Revenue" in card
    assert "$100.00" in card and "$1,234.50" in card                          # formatted like the page
    assert 'tone-' in card and ">Energy<" in card and ">Retail<" in card       # picklist badges
    assert "Ada Admin" in card                                                 # the user, by name
    assert "Created." in card                                                  # the whole history fits
    assert "<script>window.pwned" not in card and "&lt;script&gt;window.pwned=1&lt;/script&gt;" in card


def test_history_leaves_out_fields_the_user_cannot_read(login, users, services, make_record):
    company = make_record("company", {"name": "Acme", "code": "A", "owner": users["rep"]["id"]})
    services.records.update(SYSTEM, "company", company["id"], {"code": "B", "employees": 3})
    card = history_card(login("rep").html(f"/app/testapp/company/{company['id']}"))
    assert re.findall(r'<tr data-field="([a-z_]+)">', card) == ["employees"]   # tp_rep cannot read code


def test_no_history_list_without_tracked_fields(admin, make_record):
    memo = make_record("memo", {"name": "Note"})
    html = admin.html(f"/app/testapp/memo/{memo['id']}")
    assert 'id="field-history"' not in html
