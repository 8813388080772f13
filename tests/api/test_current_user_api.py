"""CURRENT_USER() through the record service: the query and aggregate APIs' `filter` for two
different users, a validation rule judging the writing user, and the places it is refused (a
formula field or a default is computed for no one user). Both databases."""
from __future__ import annotations

import pytest

from tessera.meta.errors import MetadataInvalid
from tessera.security.actor import SYSTEM

DEALS = "/api/v1/records/deal"
MINE = "owner == CURRENT_USER()"


def _user(services, client_for, username, permission_sets=()):
    user, _ = services.identity.create_user(username, password="quartz-meadow-81", last_name=username.title(),
                                            email=f"{username}@example.com", profile="tp_rep")
    for ps in permission_sets:
        services.records.create(SYSTEM, "permission_set_assignment", {"user": user["id"], "permission_set": ps})
    return user, client_for(user)


@pytest.fixture
def reps(services, client_for, api):
    """rita and omar, who both see every deal (view_all), each owning some; the admin owns one."""
    rita, rita_api = _user(services, client_for, "rita", ["tp_see_all_deals"])
    omar, omar_api = _user(services, client_for, "omar", ["tp_see_all_deals"])
    for name, client in [("R1", rita_api), ("R2", rita_api), ("O1", omar_api), ("A1", api)]:
        made = client.post(DEALS, json={"name": name, "amount": 10})
        assert made.status_code == 201, made.get_json()
    return {"rita": (rita, rita_api), "omar": (omar, omar_api)}


def names(client, filter):
    r = client.get(DEALS, query_string={"filter": filter})
    assert r.status_code == 200, r.get_json()
    return sorted(d["name"] for d in r.get_json()["records"])


def test_each_user_gets_their_own_records(reps, api):
    (rita, rita_api), omar_api = reps["rita"], reps["omar"][1]
    assert names(rita_api, "amount > 0") == names(omar_api, "amount > 0") == ["A1", "O1", "R1", "R2"]
    assert names(rita_api, MINE) == ["R1", "R2"]
    assert names(omar_api, MINE) == ["O1"]
    assert names(api, MINE) == ["A1"]
    assert names(rita_api, f"not ({MINE})") == ["A1", "O1"]
    assert names(omar_api, f"owner == '{rita['id']}' and owner != CURRENT_USER()") == ["R1", "R2"]
    # the aggregate API reads it the same way
    for client, count in [(rita_api, 2), (omar_api, 1)]:
        r = client.get(f"{DEALS}/aggregate", query_string={"filter": MINE, "metrics": "count,sum:amount"})
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["groups"][0]["values"] == {"count": count, "sum:amount": 10.0 * count}


def test_the_platform_itself_is_no_user(reps, services):
    # SYSTEM has no user id: CURRENT_USER() is blank and owner == blank matches nothing
    assert services.records.query(SYSTEM, "deal", filter=MINE).records == []
    assert len(services.records.query(SYSTEM, "deal", filter="ISBLANK(CURRENT_USER())").records) == 4


def extend(services, fields=None, rules=None):
    doc = {"extends": "deal", "fields": fields or {}}
    if rules:
        doc["validation_rules"] = rules
    return services.changes.apply_org({"manifest": None, "components": {
        "objects": {"deal": {"source": "objects/deal.yaml", "doc": doc}}}}, author="test", message="current user")


def test_a_validation_rule_judges_the_writing_user(reps, services, api):
    extend(services, rules=[{"name": "owner_closes", "condition": "stage == 'Closed' and owner != CURRENT_USER()",
                             "message": "Only the deal's owner can close it.", "field": "stage"}])
    rita, rita_api = reps["rita"]
    r1 = next(d for d in rita_api.get(DEALS).get_json()["records"] if d["name"] == "R1")
    refused = api.patch(f"{DEALS}/{r1['id']}", json={"stage": "Closed"})   # the admin may edit, not close
    assert refused.status_code == 422, refused.get_json()
    assert "Only the deal's owner can close it." in refused.get_json()["error"]["message"]
    closed = rita_api.patch(f"{DEALS}/{r1['id']}", json={"stage": "Closed"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["stage"] == "Closed"
    # a bulk create checks its rules in SQL, with the same writing user
    rows = [{"name": "B1", "stage": "Closed", "amount": 1}, {"name": "B2", "stage": "Closed", "amount": 1}]
    mine = rita_api.post(f"{DEALS}/bulk", json=rows)
    assert mine.status_code in (200, 201), mine.get_json()
    theirs = api.post(f"{DEALS}/bulk", json=[{**rows[0], "owner": rita["id"]}])
    assert theirs.status_code == 422, theirs.get_json()
    assert "Only the deal's owner can close it." in str(theirs.get_json())


@pytest.mark.parametrize("fields, where", [
    ({"mine": {"type": "formula", "returns": "boolean", "expression": MINE}}, "fields.mine"),
    ({"taker": {"type": "lookup", "to": "user", "default_expression": "CURRENT_USER()"}}, "fields.taker"),
])
def test_refused_where_no_one_user_is_meant(services, fields, where):
    with pytest.raises(MetadataInvalid) as info:
        extend(services, fields=fields)
    errors = [str(e) for e in info.value.errors]
    assert any(where in e and "CURRENT_USER() can only be used in filters" in e for e in errors), errors


def test_a_workflow_condition_judges_the_writing_user(reps, services, api):
    flagged = {"name": "closed_for_someone", "object": "deal",
               "trigger": {"event": "create_or_update", "timing": "before_save",
                           "condition": "ISCHANGED(stage) and stage == 'Closed' and owner != CURRENT_USER()"},
               "actions": [{"type": "update_record", "values": {"probability": "1"}}]}
    services.changes.apply_org({"manifest": None, "components": {"objects": {}, "workflows": {
        "closed_for_someone": {"source": "workflows/closed_for_someone.yaml", "doc": flagged}}}},
        author="test", message="workflow")
    rita_api = reps["rita"][1]
    deals = {d["name"]: d["id"] for d in rita_api.get(DEALS).get_json()["records"]}
    by_admin = api.patch(f"{DEALS}/{deals['R1']}", json={"stage": "Closed"})
    by_owner = rita_api.patch(f"{DEALS}/{deals['R2']}", json={"stage": "Closed"})
    assert by_admin.status_code == by_owner.status_code == 200, (by_admin.get_json(), by_owner.get_json())
    assert by_admin.get_json()["probability"] == 1 and by_owner.get_json()["probability"] == 10


@pytest.mark.parametrize("trigger, probability, where", [
    ({"event": "scheduled", "cron": "0 6 * * *", "condition": MINE}, "1", "trigger.condition"),
    ({"event": "create_or_update", "condition": MINE}, "IF(owner == CURRENT_USER(), 1, 2)", "actions.0"),
])
def test_refused_in_scheduled_conditions_and_workflow_actions(services, trigger, probability, where):
    doc = {"name": "wf_mine", "object": "deal", "trigger": trigger,
           "actions": [{"type": "update_record", "values": {"probability": probability}}]}
    with pytest.raises(MetadataInvalid) as info:
        services.changes.apply_org({"manifest": None, "components": {"objects": {}, "workflows": {
            "wf_mine": {"source": "workflows/wf_mine.yaml", "doc": doc}}}}, author="test", message="workflow")
    errors = [str(e) for e in info.value.errors]
    assert any(where in e and "CURRENT_USER() can only be used in filters" in e for e in errors), errors
