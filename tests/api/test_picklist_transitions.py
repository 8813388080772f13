"""Picklist state machines (`transitions`, `initial`): the record service enforces them on every
write path — REST create/update/bulk, before-save workflows, the system actor — and invalid ones
are refused by the change pipeline naming file and path. Both databases."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tessera.meta.errors import MetadataInvalid
from tessera.meta.source import empty_org, load_package
from tessera.security.actor import SYSTEM

ROOT = Path(__file__).resolve().parents[2]

STATUS = {
    "type": "picklist", "values": ["New", "Working", "Escalated", "Waiting", "Closed"], "default": "New",
    "initial": ["New", "Working"],
    "transitions": [
        {"from": "New", "to": ["Working", "Closed"]},
        {"from": "New", "to": "Escalated", "condition": "priority == 'High'"},
        {"from": "Working", "to": ["Escalated", "Waiting", "Closed"]},
        {"from": ["Escalated", "Waiting"], "to": ["Working", "Closed"]},
        {"from": "Closed", "to": "Working", "profiles": ["tk_manager"], "permission_sets": ["tk_reopener"]},
    ]}
TICKET = {"name": "ticket", "label": "Ticket", "sharing_model": "read_write", "track_history": True, "fields": {
    "subject": {"type": "text", "required": True},
    "priority": {"type": "picklist", "values": ["Low", "High"], "default": "Low"},
    "note": {"type": "text"},
    "status": STATUS}}
AGENT = {"name": "tk_agent", "label": "Agent", "system_permissions": ["api_access"],
         "objects": {"ticket": ["create", "read", "edit", "delete"], "user": ["read"]}}


def ticket_org(*, status=None, workflows=None) -> dict:
    org = empty_org()
    doc = copy.deepcopy(TICKET)
    if status is not None:
        doc["fields"]["status"] = status
    comps = org["components"]
    comps["objects"]["ticket"] = {"source": "org/objects/ticket.yaml", "doc": doc}
    for name in ("tk_agent", "tk_manager"):
        comps["profiles"][name] = {"source": f"org/profiles/{name}.yaml", "doc": {**AGENT, "name": name}}
    comps.setdefault("permission_sets", {})["tk_reopener"] = {
        "source": "org/permission_sets/tk_reopener.yaml", "doc": {"name": "tk_reopener", "label": "Reopener"}}
    comps.setdefault("permission_set_groups", {})["tk_reopeners"] = {
        "source": "org/permission_set_groups/tk_reopeners.yaml",
        "doc": {"name": "tk_reopeners", "label": "Reopeners", "permission_sets": ["tk_reopener"]}}
    comps["apps"]["helpdesk"] = {"source": "org/apps/helpdesk.yaml", "doc": {"name": "helpdesk", "label": "Helpdesk",
                                                                          "tabs": ["ticket"]}}
    for name, wf in (workflows or {}).items():
        comps.setdefault("workflows", {})[name] = {"source": f"org/workflows/{name}.yaml", "doc": {"name": name, **wf}}
    return org


@pytest.fixture
def helpdesk(services, client_for):
    services.changes.apply_org(ticket_org(), author="test", message="tickets")
    users = {}
    for name, profile in (("agent", "tk_agent"), ("manager", "tk_manager"), ("lead", "tk_agent")):
        users[name], _ = services.identity.create_user(name, password="Tq7-violet-harbor-92", profile=profile,
                                                       last_name=name.title())
    services.records.create(SYSTEM, "permission_set_assignment", {
        "user": users["lead"]["id"], "permission_set": "tk_reopeners", "kind": "permission_set_group"})
    return {name: client_for(user) for name, user in users.items()}


def new_ticket(client, **values):
    r = client.post("/api/v1/records/ticket", json={"subject": "Printer on fire", **values})
    assert r.status_code == 201, r.json
    return r.json


def move(client, ticket, status, **more):
    return client.patch(f"/api/v1/records/ticket/{ticket['id']}", json={"status": status, **more})


def test_a_change_must_follow_a_transition(helpdesk):
    agent = helpdesk["agent"]
    t = new_ticket(agent)
    assert t["status"] == "New"
    refused = move(agent, t, "Waiting")
    assert refused.status_code == 422
    error = refused.json["error"]
    assert error["code"] == "validation_failed"
    assert error["fields"] == {"status": ["cannot change from 'New' to 'Waiting' (allowed: 'Working', 'Closed')"]}
    assert agent.get(f"/api/v1/records/ticket/{t['id']}").json["status"] == "New"
    for status in ("Working", "Waiting", "Working", "Escalated", "Closed"):
        r = move(agent, t, status)
        assert r.status_code == 200, (status, r.json)
    # setting the value it has is not a change; other fields change freely
    assert move(agent, t, "Closed", note="dup").status_code == 200
    assert agent.patch(f"/api/v1/records/ticket/{t['id']}", json={"note": "again"}).status_code == 200
    cleared = move(agent, t, None)
    assert cleared.status_code == 422 and "cannot be cleared" in cleared.json["error"]["fields"]["status"][0]


def test_a_transition_can_be_limited_to_profiles_and_permission_sets(helpdesk, services):
    t = new_ticket(helpdesk["agent"])
    for status in ("Working", "Closed"):
        assert move(helpdesk["agent"], t, status).status_code == 200
    refused = move(helpdesk["agent"], t, "Working")
    assert refused.status_code == 422
    assert refused.json["error"]["fields"]["status"] == ["cannot change from 'Closed' to 'Working' (allowed: none for you)"]
    assert move(helpdesk["manager"], t, "Working").status_code == 200        # by profile
    assert move(helpdesk["agent"], t, "Closed").status_code == 200
    assert move(helpdesk["lead"], t, "Working").status_code == 200           # by a set held through a group
    # the system actor passes the profile restriction, not the graph
    assert move(helpdesk["agent"], t, "Closed").status_code == 200
    assert services.records.update(SYSTEM, "ticket", t["id"], {"status": "Working"})["status"] == "Working"
    fresh = new_ticket(helpdesk["agent"])
    with pytest.raises(Exception) as refused_for_system:
        services.records.update(SYSTEM, "ticket", fresh["id"], {"status": "Waiting"})
    assert refused_for_system.value.status == 422


def test_a_transition_condition_is_evaluated_on_the_record_as_saved(helpdesk):
    agent = helpdesk["agent"]
    t = new_ticket(agent)
    refused = move(agent, t, "Escalated")
    assert refused.status_code == 422
    assert refused.json["error"]["fields"]["status"] == [
        "cannot change from 'New' to 'Escalated' (allowed: 'Working', 'Closed')"]
    assert move(agent, t, "Escalated", priority="High").status_code == 200   # the same write makes it hold
    high = new_ticket(agent, priority="High")
    assert move(agent, high, "Waiting").json["error"]["fields"]["status"] == [
        "cannot change from 'New' to 'Waiting' (allowed: 'Working', 'Escalated', 'Closed')"]


def test_new_records_start_in_an_initial_value(helpdesk):
    agent = helpdesk["agent"]
    refused = agent.post("/api/v1/records/ticket", json={"subject": "Old", "status": "Closed"})
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {
        "status": ["a new record cannot start as 'Closed' (allowed: 'New', 'Working')"]}
    assert new_ticket(agent, status="Working")["status"] == "Working"
    bulk = agent.post("/api/v1/records/ticket/bulk", json=[
        {"subject": "a"}, {"subject": "b", "status": "Escalated"}, {"subject": "c", "status": "Working"}])
    assert bulk.status_code == 422, bulk.json
    assert bulk.json["error"]["rows"] == [{"index": 1, "fields": {
        "status": ["a new record cannot start as 'Escalated' (allowed: 'New', 'Working')"]}}]
    assert agent.get("/api/v1/records/ticket?count=true").json["total"] == 1     # nothing of the batch
    ok = agent.post("/api/v1/records/ticket/bulk", json=[{"subject": "a"}, {"subject": "c", "status": "Working"}])
    assert ok.status_code == 201, ok.json


def test_before_save_workflow_changes_are_checked_as_the_final_value(services, helpdesk):
    """A before-save workflow's change joins the user's write: the final value must follow a
    transition open to that user, exactly as if they had set it."""
    services.changes.apply_org(ticket_org(workflows={"escalate_on_note": {
        "object": "ticket",
        "trigger": {"event": "update", "timing": "before_save", "condition": "CONTAINS(note, 'urgent')"},
        "actions": [{"type": "update_record", "values": {"status": "'Escalated'"}}]}}), author="test", message="wf")
    agent = helpdesk["agent"]
    t = new_ticket(agent)
    refused = agent.patch(f"/api/v1/records/ticket/{t['id']}", json={"note": "urgent!"})
    assert refused.status_code == 422
    assert refused.json["error"]["fields"]["status"] == [
        "cannot change from 'New' to 'Escalated' (allowed: 'Working', 'Closed')"]
    assert move(agent, t, "Working").status_code == 200
    escalated = agent.patch(f"/api/v1/records/ticket/{t['id']}", json={"note": "urgent now"})
    assert escalated.status_code == 200 and escalated.json["status"] == "Escalated"


def test_describe_shows_the_state_machine_and_the_service_offers_the_same_moves(helpdesk, services, api):
    field = next(f for f in api.get("/api/v1/objects/ticket").json["fields"] if f["name"] == "status")
    assert field["initial"] == ["New", "Working"]
    assert field["transitions"][0] == {"from": ["New"], "to": ["Working", "Closed"]}
    assert field["transitions"][4]["profiles"] == ["tk_manager"]
    t = new_ticket(helpdesk["agent"])
    agent = services.identity.actor_for_user(services.identity.find_user("agent"))
    manager = services.identity.actor_for_user(services.identity.find_user("manager"))
    assert services.records.allowed_values(agent, "ticket", "status", "New", t["id"]) == ["Working", "Closed"]
    assert services.records.allowed_values(agent, "ticket", "status", "Closed") == []
    assert services.records.allowed_values(manager, "ticket", "status", "Closed") == ["Working"]
    assert services.records.allowed_values(agent, "ticket", "status", None) == ["New", "Working"]
    assert services.records.allowed_values(agent, "ticket", "priority", "Low") is None     # no state machine
    services.records.update(SYSTEM, "ticket", t["id"], {"priority": "High"})
    assert services.records.allowed_values(agent, "ticket", "status", "New", t["id"]) == ["Working", "Escalated", "Closed"]


# -- metadata: checked and planned like every change -----------------------------------------------

@pytest.mark.parametrize("change, path, message", [
    (lambda s: s["transitions"][0].update(to=["Working", "Done"]), "fields.status.transitions.0.to.1",
     "'Done' is not one of the values of 'status'"),
    (lambda s: s["transitions"][3].update({"from": "Open"}), "fields.status.transitions.3.from",
     "'Open' is not one of the values of 'status'"),
    (lambda s: s["transitions"][4].update(profiles=["tk_nobody"]), "fields.status.transitions.4.profiles.0",
     "there is no profile 'tk_nobody'"),
    (lambda s: s["transitions"][4].update(permission_sets=["nope"]), "fields.status.transitions.4.permission_sets.0",
     "there is no permission set 'nope'"),
    (lambda s: s["transitions"][1].update(condition="priority + 1"), "fields.status.transitions.1.condition", ""),
    (lambda s: s.update(initial=["Nope"]), "fields.status.initial.0", "'Nope' is not one of the values of 'status'"),
    (lambda s: s.update(initial=["Working"]), "fields.status.default", "'New' is not one of the initial values"),
    (lambda s: s["transitions"][0].pop("to"), "fields.status.transitions.0", "to"),
])
def test_invalid_transitions_are_refused_naming_file_and_path(services, change, path, message):
    status = copy.deepcopy(STATUS)
    change(status)
    with pytest.raises(MetadataInvalid) as exc:
        services.changes.apply_org(ticket_org(status=status), author="test", message="bad")
    text = str(exc.value)
    assert f"org/objects/ticket.yaml: {path}" in text and message in text, text


def test_transitions_are_a_safe_metadata_only_change_and_packages_decide(helpdesk, services):
    status = copy.deepcopy(STATUS)
    status["transitions"].append({"from": "New", "to": "Waiting"})
    result = services.changes.apply_org(ticket_org(status=status), author="test", message="more", check_only=True)
    assert result.plan.safety == "safe" and result.plan.lines() == [
        "[safe]".ljust(16) + result.plan.operations[0].describe()]
    assert "ticket.status" in result.plan.lines()[0] and "transitions" in result.plan.lines()[0]
    services.changes.apply_org(ticket_org(status=status), author="test", message="more")
    t = new_ticket(helpdesk["agent"])
    assert move(helpdesk["agent"], t, "Waiting").status_code == 200
    # the test package does not list `transitions` as customizable: the org cannot add them to deal.stage
    org = ticket_org()
    org["components"]["objects"]["deal"] = {"source": "org/objects/deal.yaml", "doc": {
        "extends": "deal", "fields": {"stage": {"transitions": [{"from": "New", "to": "Working"}]}}}}
    with pytest.raises(MetadataInvalid) as exc:
        services.changes.apply_org(org, author="test", message="deal machine")
    assert ("org/objects/deal.yaml: fields.stage.transitions: package 'testpkg' does not let the org change "
            "'transitions' of field 'deal.stage'") in str(exc.value)


def test_cli_apply_refuses_invalid_transitions(services, db_url, tmp_path, monkeypatch):
    from tessera.cli import _register, cli
    org = ticket_org()
    org["components"]["objects"]["ticket"]["doc"]["fields"]["status"]["transitions"][2]["to"] = ["Escalated", "Solved"]
    for dirname, items in org["components"].items():
        for name, item in items.items():
            target = tmp_path / "org" / dirname / f"{name}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(item["doc"], sort_keys=False))
    monkeypatch.chdir(tmp_path)
    _register()
    result = CliRunner().invoke(cli, ["apply", "--database", db_url, "org", "--check-only"], catch_exceptions=False)
    assert result.exit_code == 1
    assert (str(Path("org/objects/ticket.yaml")) + ": fields.status.transitions.2.to.1: 'Solved' is not one of "
            "the values of 'status'") in result.stderr


# -- the stock Service app ----------------------------------------------------------------------------

@pytest.fixture
def service_app(services):
    services.changes.install_packages([load_package(ROOT / "apps" / name) for name in ("sales", "marketing", "service")],
                                      author="test", message="stock apps")
    return services


def test_stock_case_status_follows_its_life_cycle(service_app, api, client_for):
    agent_user, _ = service_app.identity.create_user("sam", password="Tq7-violet-harbor-92", profile="service_agent",
                                                     last_name="Agent")
    agent = client_for(agent_user)
    case = agent.post("/api/v1/records/case", json={"subject": "Cannot log in", "reason": "User Error"})
    assert case.status_code == 201, case.json
    case = case.json
    url = f"/api/v1/records/case/{case['id']}"
    assert case["status"] == "New"
    assert agent.patch(url, json={"status": "Waiting"}).json["error"]["fields"]["status"] == [
        "cannot change from 'New' to 'Waiting' (allowed: 'Working', 'Closed')"]
    for status in ("Working", "Escalated", "Working", "Waiting", "Closed"):
        r = agent.patch(url, json={"status": status})
        assert r.status_code == 200, (status, r.json)
    assert agent.patch(url, json={"status": "Working"}).status_code == 422   # an agent does not reopen
    assert api.patch(url, json={"status": "Working"}).status_code == 200   # an administrator does
