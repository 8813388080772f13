"""Workflow actions that find their record by a key (automation/keyed_writes.py): upsert_record
(create or update) and update_record with match (update only), in inbound webhooks and
record-triggered workflows; their metadata checks (errors name file and path), dry run, and the
setup builder showing such a workflow read-only. Real worker, real HTTP, both databases."""
from __future__ import annotations

import html

import pytest
from test_inbound_hooks import post, signed
from test_workflows import apply, runs, signed_in
from worker_threads import run_jobs

from tessera.automation import credentials
from tessera.meta.errors import MetadataInvalid

PAYLOAD = {"code": "text", "company": "text", "industry": "text", "staff": "integer", "paid": "boolean"}
UPSERT = {
    "label": "Billing sync", "object": "company",
    "trigger": {"event": "inbound_webhook", "secret": "billing_hook", "user": "admin", "payload": PAYLOAD},
    "actions": [{"type": "upsert_record", "label": "Sync company", "object": "company",
                 "match": {"field": "code", "value": "payload.code"},
                 "values": {"industry": "payload.industry", "employees": "payload.staff"},
                 "on_create": {"name": "payload.company"}}]}
PAID = {
    "label": "Invoice paid", "object": "company",
    "trigger": {"event": "inbound_webhook", "secret": "billing_hook", "user": "admin", "payload": PAYLOAD},
    "actions": [{"type": "update_record", "object": "company", "match": {"field": "code", "value": "payload.code"},
                 "values": {"active": "payload.paid"}}]}


@pytest.fixture
def billing(services):
    apply(services, {"billing": UPSERT, "paid": PAID})
    secret, _created = credentials.set_credential(services.engine, "billing_hook", "webhook_signing")
    return secret


def companies(api, code):
    found = api.get("/api/v1/records/company", query_string={
        "filter": f"code == '{code}'", "fields": "name,code,industry,employees,active"}).json["records"]
    return found


def send(app, services, api, secret, name, body, msg_id):
    answer = post(app, name, *signed(secret, body, msg_id=msg_id))
    assert answer.status_code == 202, answer.json
    count = len(runs(api, workflow=name))
    run_jobs(services, until=lambda: len(runs(api, workflow=name)) > count)
    [run] = [r for r in runs(api, workflow=name) if r["id"] == answer.json["run_id"]]
    return run


def test_an_inbound_upsert_creates_then_updates_the_same_record(services, app, api, billing):
    first = send(app, services, api, billing, "billing",
                 {"code": "C-100", "company": "Initech", "industry": "Technology", "staff": 40}, "msg_a")
    assert first["status"] == "succeeded", first
    [company] = companies(api, "C-100")
    assert (company["name"], company["industry"], company["employees"]) == ("Initech", "Technology", 40)
    step = first["steps"][-1]
    assert step["action"] == "upsert_record" and step["detail"]["outcome"] == "created"
    assert step["detail"]["record_id"] == company["id"] and step["detail"]["object"] == "company"
    assert first["record_id"] == company["id"]

    # the same key, a new webhook-id: the same record is updated; on_create values are not applied again
    second = send(app, services, api, billing, "billing",
                  {"code": "C-100", "company": "Renamed Corp", "industry": "Retail", "staff": 41}, "msg_b")
    assert second["status"] == "succeeded", second
    assert companies(api, "C-100") == [{**company, "industry": "Retail", "employees": 41}]
    assert second["steps"][-1]["detail"]["outcome"] == "updated" and second["record_id"] == company["id"]
    assert second["steps"][-1]["detail"]["values"] == {"industry": "Retail", "employees": 41}


def test_an_inbound_update_by_match_updates_or_fails_clearly(services, app, api, billing):
    created = api.post("/api/v1/records/company", json={"name": "Hooli", "code": "C-7", "active": False}).json
    done = send(app, services, api, billing, "paid", {"code": "C-7", "paid": True}, "msg_paid")
    assert done["status"] == "succeeded" and done["record_id"] == created["id"], done
    assert companies(api, "C-7")[0]["active"] is True
    assert done["steps"][-1]["detail"]["outcome"] == "updated"

    missing = send(app, services, api, billing, "paid", {"code": "C-404", "paid": True}, "msg_unknown")
    assert missing["status"] == "failed"
    assert "there is no company with code 'C-404' to update" in missing["error"], missing
    assert missing["steps"][-1]["status"] == "failed" and missing["record_id"] is None
    assert companies(api, "C-404") == []

    blank = send(app, services, api, billing, "paid", {"paid": True}, "msg_blank")   # no code: a blank key
    assert blank["status"] == "failed" and "blank" in blank["error"], blank


def test_an_upsert_whose_new_record_is_invalid_fails_the_run_and_creates_nothing(services, app, api, billing):
    run = send(app, services, api, billing, "billing", {"code": "C-9", "industry": "Energy"}, "msg_noname")
    assert run["status"] == "failed" and "name" in run["error"], run
    assert companies(api, "C-9") == []


DEAL_SYNC = {
    "object": "deal", "trigger": {"event": "create"},
    "actions": [{"type": "upsert_record", "object": "company",
                 "match": {"field": "code", "value": "'ACCT-' + UPPER(name)"},
                 "values": {"employees": "BLANKVALUE(company.employees, 0) + 1"},
                 "on_create": {"name": "name + ' (from a deal)'", "industry": "'Retail'"}}]}


def test_a_record_triggered_workflow_upserts_a_related_record(services, api):
    apply(services, {"deal_sync": DEAL_SYNC})
    first = api.post("/api/v1/records/deal", json={"name": "acme"})
    assert first.status_code == 201, first.json
    [company] = companies(api, "ACCT-ACME")
    assert (company["name"], company["industry"], company["employees"]) == ("acme (from a deal)", "Retail", 1)
    second = api.post("/api/v1/records/deal", json={"name": "acme", "company": company["id"]})
    assert second.status_code == 201, second.json
    [again] = companies(api, "ACCT-ACME")
    assert again["id"] == company["id"] and again["employees"] == 2 and again["name"] == "acme (from a deal)"
    logged = runs(api, workflow="deal_sync")
    assert sorted(r["steps"][-1]["detail"]["outcome"] for r in logged) == ["created", "updated"]


def test_a_failing_upsert_rolls_the_triggering_write_back(services, api):
    apply(services, {"deal_sync": {**DEAL_SYNC, "actions": [{
        **DEAL_SYNC["actions"][0], "values": {"employees": "-1"}}]}})   # employees has min: 0
    answer = api.post("/api/v1/records/deal", json={"name": "beta"})
    assert answer.status_code == 422, answer.json
    assert api.get("/api/v1/records/deal").json["records"] == [] and companies(api, "ACCT-BETA") == []


def test_a_dry_run_describes_the_upsert_and_leaves_nothing(services, api):
    apply(services, {"deal_sync": {**DEAL_SYNC, "trigger": {"event": "update"}}})
    deal = api.post("/api/v1/records/deal", json={"name": "gamma"}).json
    answer = api.post("/api/v1/workflows/deal_sync/dry-run", json={"record_id": deal["id"]})
    assert answer.status_code == 200, answer.json
    [step] = answer.json["steps"]
    assert step["action"] == "upsert_record" and step["detail"]["outcome"] == "created"
    assert step["detail"]["key"] == "ACCT-GAMMA" and step["record"]["name"] == "gamma (from a deal)"
    assert companies(api, "ACCT-GAMMA") == []   # rolled back


BASE = {"object": "deal", "trigger": {"event": "create"}}


@pytest.mark.parametrize("action, where, words", [
    ({"type": "upsert_record", "object": "company", "match": {"field": "name", "value": "name"},
      "values": {"industry": "'Retail'"}}, "actions.0.match.field", "neither an external id nor unique"),
    ({"type": "update_record", "object": "company", "match": {"field": "industry", "value": "'Retail'"},
      "values": {"active": "true"}}, "actions.0.match.field", "neither an external id nor unique"),
    ({"type": "upsert_record", "object": "deal", "match": {"field": "number", "value": "'D-0001'"},
      "values": {"name": "'x'"}}, "actions.0.match.field", "autonumber"),
    ({"type": "upsert_record", "object": "company", "match": {"field": "nope", "value": "name"},
      "values": {"name": "name"}}, "actions.0.match.field", "has no field 'nope'"),
    ({"type": "upsert_record", "object": "company", "match": {"field": "code", "value": "amount"},
      "values": {"name": "name"}}, "actions.0.match.value", "text"),
    ({"type": "upsert_record", "object": "company", "match": {"field": "code", "value": "name"},
      "values": {"num_deals": "1"}, "on_create": {"name": "name"}}, "actions.0.values.num_deals", "computed"),
    ({"type": "upsert_record", "object": "company", "match": {"field": "code", "value": "name"},
      "values": {"industry": "'Retail'"}}, "actions.0.on_create", "requires name"),
    ({"type": "upsert_record", "object": "company", "match": {"field": "code", "value": "name"},
      "values": {"code": "name", "name": "name"}}, "actions.0.values.code", "match key"),
    ({"type": "upsert_record", "object": "company", "match": {"field": "code", "value": "name"},
      "values": {"name": "name"}, "on_create": {"name": "name"}}, "actions.0.on_create.name", "in values already"),
    ({"type": "upsert_record", "object": "nothing", "match": {"field": "code", "value": "name"},
      "values": {"name": "name"}}, "actions.0.object", "no object 'nothing'"),
    ({"type": "upsert_record", "object": "company", "match": {"field": "code"}, "values": {"name": "name"}},
     "actions.0.match.value", "required"),
    ({"type": "update_record", "object": "company", "values": {"name": "name"}}, "actions.0.object",
     "applies to update_record with a match"),
    ({"type": "create_record", "object": "company", "match": {"field": "code", "value": "name"},
      "values": {"name": "name"}}, "actions.0.match", "does not apply to create_record"),
])
def test_invalid_keyed_actions_are_refused_naming_file_and_path(services, action, where, words):
    with pytest.raises(MetadataInvalid) as caught:
        apply(services, {"bad": {**BASE, "actions": [action]}})
    found = [(e.source, e.path, e.message) for e in caught.value.errors]
    assert any(src == "workflows/bad.yaml" and path.startswith(where) and words in message
               for src, path, message in found), found


def test_a_before_save_workflow_cannot_update_by_match(services):
    with pytest.raises(MetadataInvalid) as caught:
        apply(services, {"bad": {"object": "deal", "trigger": {"event": "create", "timing": "before_save"},
                                 "actions": [{"type": "update_record", "object": "company",
                                              "match": {"field": "code", "value": "name"},
                                              "values": {"industry": "'Retail'"}}]}})
    assert [(e.source, e.path) for e in caught.value.errors] == [("workflows/bad.yaml", "actions.0.match")]


def test_setup_opens_an_upserting_workflow_in_the_builder(services, app):
    """The builder has a card for upsert_record (tests/setup/test_setup_workflow_builder_keyed.py)."""
    apply(services, {"deal_sync": DEAL_SYNC})
    page = signed_in(app).get("/setup/workflows/deal_sync/")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and 'id="workflow-form"' in text and "workflow-read-only" not in text
    assert '<option value="upsert_record" selected>' in text


def test_a_manual_workflow_updates_by_match_and_a_miss_fails_only_that_record(services, api):
    apply(services, {"stamp_hq": {"object": "deal", "trigger": {"event": "manual"}, "actions": [
        {"type": "update_record", "object": "company", "match": {"field": "code", "value": "'HQ-' + name"},
         "values": {"industry": "'Energy'"}}]}})
    hq = api.post("/api/v1/records/company", json={"name": "Head office", "code": "HQ-north"}).json
    north = api.post("/api/v1/records/deal", json={"name": "north"}).json
    south = api.post("/api/v1/records/deal", json={"name": "south"}).json
    ran = api.post("/api/v1/workflows/stamp_hq/run", json={"records": [north["id"], south["id"]]})
    assert ran.status_code == 200, ran.json
    results = {r["record_id"]: r for r in ran.json["results"]}
    assert results[north["id"]]["status"] == "succeeded"
    assert results[south["id"]]["status"] == "failed"
    assert "there is no company with code 'HQ-south' to update" in results[south["id"]]["error"]["message"]
    assert companies(api, "HQ-north")[0]["industry"] == "Energy" and companies(api, "HQ-north")[0]["id"] == hq["id"]
