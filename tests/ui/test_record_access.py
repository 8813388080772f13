"""Per-record access in /app: a record the user can see only because it is shared with them to read
(a manual read share, a read sharing rule) shows no edit, inline-edit, delete or move controls, and
every write still goes to the record service, which refuses it."""
from __future__ import annotations

import re

import pytest

from ui_helpers import actor_of

USER_PASSWORD = "harbor-violet-ledger-5"   # what the `login` fixture (conftest.py) signs in with


@pytest.fixture
def deals(services, users, make_record):
    """Deals owned by rep (tp_rep, role tp_worker): one shared with rep2 (a peer) to read, one to edit."""
    rep = actor_of(services, users["rep"])
    out = {}
    for name, level in (("Read Deal", "read"), ("Edit Deal", "edit")):
        deal = make_record("deal", {"name": name, "amount": 100, "stage": "New", "owner": users["rep"]["id"]})
        services.shares.share(rep, "deal", deal["id"], {"grantee_type": "user", "grantee": users["rep2"]["id"],
                                                        "access": level})
        out[level] = deal
    out["own"] = make_record("deal", {"name": "Own Deal", "stage": "New", "owner": users["rep2"]["id"]})
    return out


def row_html(html: str, record_id: str) -> str:
    """The list row (or kanban card) of one record: from its data-id to the next one."""
    start = html.index(f'data-id="{record_id}"')
    nxt = re.compile(r'data-id="[0-9a-f-]{36}"').search(html, start + 10)
    return html[start:nxt.start() if nxt else len(html)]


def test_the_record_service_reports_each_records_access_level(services, users, deals):
    rep2 = actor_of(services, users["rep2"])
    assert services.records.access_level(rep2, "deal", deals["read"]["id"]) == "read"
    assert services.records.access_level(rep2, "deal", deals["edit"]["id"]) == "full"   # tp_rep may delete deals
    assert services.records.access_level(rep2, "company", _company(services, users)) == "read"
    got = services.records.get(rep2, "deal", deals["read"]["id"], fields=["name", "expected"], with_access=True)
    assert got["_access"] == "read" and got["name"] == "Read Deal"
    listed = services.records.query(rep2, "deal", fields=["name"], sort=["name"], with_access=True).records
    assert [(r["name"], r["_access"]) for r in listed] == [
        ("Edit Deal", "full"), ("Own Deal", "full"), ("Read Deal", "read")]
    # without the flag the shapes are unchanged
    assert "_access" not in services.records.get(rep2, "deal", deals["read"]["id"])


def _company(services, users):
    """A company rep2 reads through a read share (tp_rep has no delete on company, edit only)."""
    from tessera.security.actor import SYSTEM
    c = services.records.create(SYSTEM, "company", {"name": "Shared Co", "owner": users["rep"]["id"]})
    services.shares.share(SYSTEM, "company", c["id"], {"grantee_type": "user", "grantee": users["rep2"]["id"]})
    return c["id"]


def test_read_shared_record_page_has_no_edit_controls(login, deals):
    rep2 = login("rep2")
    page = rep2.html(f"/app/testapp/deal/{deals['read']['id']}")
    assert "Read Deal" in page and 'id="read-only-badge"' in page
    for control in ('id="edit-record"', "js-inline-edit", 'id="delete-record"', 'id="delete-modal"', "js-path-step"):
        assert control not in page, control
    assert 'id="clone-record"' in page          # rep2 may still create deals: a copy is theirs
    editable = rep2.html(f"/app/testapp/deal/{deals['edit']['id']}")
    for control in ('id="edit-record"', "js-inline-edit", 'id="delete-record"', "js-path-step"):
        assert control in editable, control
    assert 'id="read-only-badge"' not in editable


def test_writes_to_a_read_shared_record_are_refused(login, services, users, deals):
    rep2 = login("rep2")
    rid = deals["read"]["id"]
    assert rep2.get(f"/app/testapp/deal/{rid}/edit").status_code == 403
    # the form's POST reaches the record service, which refuses it
    r = rep2.post(f"/app/testapp/deal/{rid}/edit", {"name": "Hijacked", "stage": "New"})
    assert r.status_code == 403 and "read-only access" in r.get_data(as_text=True)
    assert rep2.patch_json(f"/app/_api/records/deal/{rid}", {"values": {"stage": "Working"}}).status_code == 403
    assert rep2.get(f"/app/_api/records/deal/{rid}/editor/stage").status_code == 403
    r = rep2.post(f"/app/testapp/deal/{rid}/delete")
    assert r.headers["Location"] == f"/app/testapp/deal/{rid}"
    from tessera.security.actor import SYSTEM
    kept = services.records.get(SYSTEM, "deal", rid)
    assert kept["name"] == "Read Deal" and kept["stage"] == "New"


def test_list_and_kanban_lock_read_shared_rows(login, deals):
    rep2 = login("rep2")
    html = rep2.html("/app/testapp/deal")
    read_row, edit_row = row_html(html, deals["read"]["id"]), row_html(html, deals["edit"]["id"])
    assert "/edit?" not in read_row and 'class="row-check"' not in read_row and "read-only-mark" in read_row
    assert "/edit?" in edit_row and 'class="row-check"' in edit_row
    board = rep2.html("/app/testapp/deal/kanban?field=stage")
    read_card, own_card = row_html(board, deals["read"]["id"]), row_html(board, deals["own"]["id"])
    assert 'draggable="true"' not in read_card and "js-move-to" not in read_card
    assert 'draggable="true"' in own_card and "js-move-to" in own_card


def test_read_sharing_rule_gives_a_read_only_page(services, login, make_record, users):
    """tp_big_deals_to_auditors shares deals of 1000 or more with role tp_auditor, to read."""
    services.identity.create_user("auditrep", password=USER_PASSWORD, last_name="Audit",
                                  profile="tp_rep", role="tp_auditor")
    big = make_record("deal", {"name": "Big Deal", "amount": 5000, "owner": users["rep"]["id"]})
    auditor = login("auditrep")
    page = auditor.html(f"/app/testapp/deal/{big['id']}")
    assert "Big Deal" in page and 'id="edit-record"' not in page and "js-inline-edit" not in page
    assert auditor.post(f"/app/testapp/deal/{big['id']}/edit", {"name": "Mine now"}).status_code == 403


def test_role_hierarchy_keeps_edit_for_managers(services, login, make_record, users):
    services.identity.create_user("manager", password=USER_PASSWORD, last_name="Lead",
                                  profile="tp_rep", role="tp_lead")
    deal = make_record("deal", {"name": "Team Deal", "owner": users["rep"]["id"]})
    page = login("manager").html(f"/app/testapp/deal/{deal['id']}")
    assert 'id="edit-record"' in page and "js-inline-edit" in page and 'id="read-only-badge"' not in page
