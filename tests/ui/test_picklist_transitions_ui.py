"""The generated UI offers only the moves a picklist's state machine allows this user from the
record's value — edit form, new form, inline editor, path and kanban — the same answer the record
service enforces (RecordService.allowed_values). Both databases."""
from __future__ import annotations

import re

import pytest

from tessera.meta.source import empty_org
from tessera.security.actor import SYSTEM
from ui_helpers import UiClient

STATUS = {"type": "picklist", "values": ["New", "Working", "Escalated", "Waiting", "Closed"], "default": "New",
          "initial": ["New", "Working"],
          "transitions": [{"from": "New", "to": ["Working", "Closed"]},
                          {"from": "Working", "to": ["Escalated", "Waiting", "Closed"]},
                          {"from": ["Escalated", "Waiting"], "to": ["Working", "Closed"]},
                          {"from": "Closed", "to": "Working", "profiles": ["tk_manager"]}]}
PROFILE = {"label": "Helpdesk", "system_permissions": ["api_access"],
           "objects": {"ticket": ["create", "read", "edit", "delete"], "user": ["read"]}}


@pytest.fixture
def desk(services, app):
    org = empty_org()
    comps = org["components"]
    comps["objects"]["ticket"] = {"source": "org/objects/ticket.yaml", "doc": {
        "name": "ticket", "label": "Ticket", "sharing_model": "read_write",
        "fields": {"subject": {"type": "text", "required": True}, "status": STATUS}}}
    for name in ("tk_agent", "tk_manager"):
        comps["profiles"][name] = {"source": f"org/profiles/{name}.yaml", "doc": {"name": name, **PROFILE}}
    comps["apps"]["helpdesk"] = {"source": "org/apps/helpdesk.yaml",
                                 "doc": {"name": "helpdesk", "label": "Helpdesk", "tabs": ["ticket"]}}
    services.changes.apply_org(org, author="test", message="helpdesk")
    for name, profile in (("agent", "tk_agent"), ("manager", "tk_manager")):
        services.identity.create_user(name, password="Tq7-violet-harbor-92", profile=profile, last_name=name.title())
    return {name: UiClient(app).login(name, "Tq7-violet-harbor-92") for name in ("agent", "manager")}


def select_options(html: str, name: str) -> list[str]:
    m = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert m, f"no select named {name}"
    return re.findall(r'<option value="([^"]*)"', m.group(1))


def test_forms_offer_only_allowed_values(desk, services):
    new_ticket = services.records.create(SYSTEM, "ticket", {"subject": "New one"})
    agent = desk["agent"]
    assert select_options(agent.html("/app/helpdesk/ticket/new"), "status") == ["", "New", "Working"]
    # the record's value and the moves from it; no blank: clearing is not a transition
    assert select_options(agent.html(f"/app/helpdesk/ticket/{new_ticket['id']}/edit"), "status") == \
        ["New", "Working", "Closed"]
    editor = agent.get(f"/app/_api/records/ticket/{new_ticket['id']}/editor/status?app=helpdesk").get_json()
    assert select_options(editor["html"], "status") == ["New", "Working", "Closed"]
    closed = services.records.create(SYSTEM, "ticket", {"subject": "Done", "status": "Working"})
    services.records.update(SYSTEM, "ticket", closed["id"], {"status": "Closed"})
    assert select_options(agent.html(f"/app/helpdesk/ticket/{closed['id']}/edit"), "status") == ["Closed"]
    assert select_options(desk["manager"].html(f"/app/helpdesk/ticket/{closed['id']}/edit"), "status") == \
        ["Working", "Closed"]
    # a forged form post is refused by the record service, and the form says why
    r = agent.post(f"/app/helpdesk/ticket/{new_ticket['id']}/edit", {"subject": "New one", "status": "Waiting"})
    assert r.status_code == 422
    assert "cannot change from &#39;New&#39; to &#39;Waiting&#39;" in r.get_data(as_text=True)


def test_path_and_kanban_offer_only_allowed_moves(desk, services):
    fresh = services.records.create(SYSTEM, "ticket", {"subject": "Fresh"})
    closed = services.records.create(SYSTEM, "ticket", {"subject": "Closed", "status": "Working"})
    services.records.update(SYSTEM, "ticket", closed["id"], {"status": "Closed"})
    agent = desk["agent"]
    page = agent.html(f"/app/helpdesk/ticket/{fresh['id']}")
    assert re.findall(r'js-path-step" data-value="([^"]+)"', page) == ["Working", "Closed"]

    board = agent.html("/app/helpdesk/ticket/kanban?field=status")
    cards = dict(re.findall(r'<article class="kanban-card[^"]*" data-id="([^"]+)"(.*?)</article>', board, re.S))
    fresh_card, closed_card = cards[fresh["id"]], cards[closed["id"]]
    assert re.findall(r'js-move-to" href="#" data-value="([^"]+)"', fresh_card) == ["Working", "Closed"]
    assert 'data-moves="[&#34;Working&#34;, &#34;Closed&#34;]"' in board
    assert "js-move-to" not in closed_card and "No moves" in closed_card      # an agent cannot reopen
    assert f'data-id="{closed["id"]}" draggable' not in board
    manager_board = desk["manager"].html("/app/helpdesk/ticket/kanban?field=status")
    manager_card = dict(re.findall(r'<article class="kanban-card[^"]*" data-id="([^"]+)"(.*?)</article>',
                                   manager_board, re.S))[closed["id"]]
    assert re.findall(r'js-move-to" href="#" data-value="([^"]+)"', manager_card) == ["Working"]
    # a drag the board would not offer is refused by the record service all the same
    r = agent.patch_json(f"/app/_api/records/ticket/{fresh['id']}", {"values": {"status": "Waiting"}, "app": "helpdesk"})
    assert r.status_code == 422 and "cannot change from 'New' to 'Waiting'" in str(r.get_json())
    assert agent.patch_json(f"/app/_api/records/ticket/{fresh['id']}",
                            {"values": {"status": "Working"}, "app": "helpdesk"}).status_code == 200
