"""Setup → Automation: the builder's update_related, group / queue pool, wait and inbound-webhook
cards — stored workflows using them open in the builder and round-trip unchanged, new ones are
built from the form with pickers from the metadata and the org's records, and bad input is shown on
its input with nothing saved. Through the setup UI; both databases."""
from __future__ import annotations

import pytest

from tessera.automation import credentials
from test_setup_workflow_builder_cards import _saves_nothing
from test_setup_workflow_kinds import _apply, rendered_form
from test_setup_workflows import invalid_inputs, org_doc

STORED = {
    "related_items": {"object": "deal", "trigger": {"event": "update", "condition": "ISCHANGED(stage)"},
                      "actions": [{"type": "update_related", "label": "Bump items", "object": "deal_item",
                                   "lookup": "deal", "values": {"quantity": "2", "name": "name + ' item'"},
                                   "filter": "quantity > 1"},
                                  {"type": "update_related", "object": "deal_item", "lookup": "deal",
                                   "values": {"quantity": "0"}}]},
    "group_turns": {"object": "deal", "trigger": {"event": "create"},
                    "actions": [{"type": "assign_owner", "group": "Closers", "method": "least_busy",
                                 "busy_filter": "stage != 'Closed'"},
                                {"type": "assign_owner", "queue": "Missing Queue", "method": "round_robin"},
                                {"type": "notify", "group": "Closers", "queue": "Triage", "title": "'New: ' + name"},
                                {"type": "notify", "to": ["owner"], "group": "Closers", "title": "name"}]},
    "waits": {"object": "deal", "trigger": {"event": "create_or_update"},
              "actions": [{"type": "wait", "duration": "2d 4h"},
                          {"type": "wait", "label": "An hour", "duration": 3600},
                          {"type": "wait", "until": "ADD_DAYS(close_date, -1)", "recheck_condition": False},
                          {"type": "if", "condition": "amount > 10",
                           "then": [{"type": "wait", "until": "created_at"}]},
                          {"type": "update_record", "values": {"probability": "90"}}]},
    "inbound_deals": {"object": "deal", "run_as": "triggering_user",
                      "trigger": {"event": "inbound_webhook", "secret": "erp_signing", "user": "admin",
                                  "payload": {"deal_name": "text", "amount": "number", "closes": "date",
                                              "hot": "boolean"}},
                      "actions": [{"type": "create_record", "object": "deal",
                                   "values": {"name": "payload.deal_name", "amount": "payload.amount"}},
                                  {"type": "if", "condition": "payload.hot",
                                   "then": [{"type": "create_record", "object": "company",
                                             "values": {"name": "'Hot lead: ' + payload.deal_name"}}]}]},
}


@pytest.fixture
def org(services, api):
    """The records the pickers list: a group and a queue, and a signing credential."""
    for kind, name in (("group", "Closers"), ("queue", "Triage")):
        assert api.post(f"/api/v1/records/{kind}", json={"name": name}).status_code == 201
    credentials.set_credential(services.engine, "erp_signing", "webhook_signing")
    return services


@pytest.mark.parametrize("name", sorted(STORED))
def test_stored_workflows_with_the_new_steps_round_trip_through_the_builder(admin, org, name):
    _apply(org, name, STORED[name])
    _saves_nothing(admin, org, name)
    assert org_doc(org, name) == {"name": name, **STORED[name]}


def test_the_cards_show_the_stored_values_and_offer_pickers(admin, org):
    for name, doc in STORED.items():
        _apply(org, name, doc)
    page = admin.get("/setup/workflows/related_items/").get_data(as_text=True)
    form = rendered_form(page)
    assert form["actions.0.related"] == "deal_item.deal" and form["actions.0.filter"] == "quantity > 1"
    assert '<option value="deal_item.deal" data-target="deal_item" selected>Deal Item · Deal</option>' in page
    assert [form[f"actions.0.values.{j}.field"] for j in (0, 1)] == ["quantity", "name"]
    form = rendered_form(admin.get("/setup/workflows/group_turns/").get_data(as_text=True))
    assert (form["actions.0.assign"], form["actions.0.group"], form["actions.0.method"]) == ("group", "Closers", "least_busy")
    assert form["actions.1.queue"] == "Missing Queue"
    assert (form["actions.2.notify_group"], form["actions.2.notify_queue"]) == ("Closers", "Triage")
    page = admin.get("/setup/workflows/group_turns/").get_data(as_text=True)
    assert '<option value="Closers" selected>Closers</option>' in page            # a group record, picked
    assert "Missing Queue (no such queue yet)" in page                           # kept, and said so
    form = rendered_form(admin.get("/setup/workflows/waits/").get_data(as_text=True))
    assert (form["actions.0.wait_mode"], form["actions.0.duration"]) == ("duration", "2d 4h")
    assert form["actions.1.duration"] == "3600" and form["actions.0.recheck"] == "1"
    assert (form["actions.2.wait_mode"], form["actions.2.until"], form["actions.2.recheck"]) == \
        ("until", "ADD_DAYS(close_date, -1)", "0")
    page = admin.get("/setup/workflows/inbound_deals/").get_data(as_text=True)
    form = rendered_form(page)
    assert (form["trigger.event"], form["trigger.secret"], form["trigger.user"]) == ("inbound_webhook", "erp_signing", "admin")
    assert [(form[f"trigger.payload.{j}.key"], form[f"trigger.payload.{j}.type"]) for j in range(4)] == \
        [("deal_name", "text"), ("amount", "number"), ("closes", "date"), ("hot", "boolean")]
    assert '<option value="admin">' in page and "/api/v1/hooks/inbound_deals" in page


def _new_form(admin, **overrides):
    """The blank builder's inputs, as a browser posts them (every card's inputs, hidden ones too)."""
    form = rendered_form(admin.get("/setup/workflows/new?object=deal").get_data(as_text=True))
    for key, value in overrides.items():
        form[key] = value
    return form


def _built(admin, services, form, name):
    before = services.changes.active().number
    _review, done = admin.change("/setup/workflows/new", form)
    assert done.status_code == 302 and services.changes.active().number == before + 1
    return org_doc(services, name)


def test_build_update_related_group_and_wait_steps(admin, org):
    form = _new_form(admin, **{"label": "Cascade", "trigger.event": "update",
                               "actions.0.type": "update_related", "actions.0.related": "deal_item.deal",
                               "actions.0.filter": "quantity > 1", "actions.0.values.0.field": "quantity",
                               "actions.0.values.0.expr": "3"})
    for key, value in (("type", "wait"), ("wait_mode", "duration"), ("duration", "1h 30m"), ("recheck", "0")):
        form[f"actions.1.{key}"] = value
    for key, value in (("type", "assign_owner"), ("assign", "group"), ("group", "Closers"), ("method", "least_busy"),
                       ("busy_filter", "stage != 'Closed'"), ("queue", "Triage")):   # the hidden queue select is ignored
        form[f"actions.2.{key}"] = value
    for key, value in (("type", "wait"), ("wait_mode", "until"), ("until", "ADD_DAYS(close_date, -2)"),
                       ("duration", "5m")):
        form[f"actions.3.{key}"] = value
    for key, value in (("type", "notify"), ("notify_group", "Closers"), ("title", "'Handed over: ' + name")):
        form[f"actions.4.{key}"] = value
    doc = _built(admin, org, form, "cascade")
    assert doc["actions"] == [
        {"type": "update_related", "object": "deal_item", "lookup": "deal", "values": {"quantity": "3"},
         "filter": "quantity > 1"},
        {"type": "wait", "duration": "1h 30m", "recheck_condition": False},
        {"type": "assign_owner", "group": "Closers", "method": "least_busy", "busy_filter": "stage != 'Closed'"},
        {"type": "wait", "until": "ADD_DAYS(close_date, -2)"},
        {"type": "notify", "group": "Closers", "title": "'Handed over: ' + name"}]


def test_build_an_inbound_webhook_workflow(admin, org):
    form = _new_form(admin, **{"label": "From the ERP", "trigger.event": "inbound_webhook",
                               "trigger.condition": "amount > 1",          # hidden for inbound: not saved
                               "trigger.secret": "erp_signing", "trigger.user": "admin",
                               "trigger.payload.0.key": "deal_name", "trigger.payload.0.type": "text",
                               "trigger.payload.1.key": "amount", "trigger.payload.1.type": "number",
                               "trigger.payload.2.key": "", "trigger.payload.2.type": "text",
                               "actions.0.type": "create_record", "actions.0.object": "deal",
                               "actions.0.values.0.field": "name", "actions.0.values.0.expr": "payload.deal_name",
                               "actions.0.values.1.field": "amount", "actions.0.values.1.expr": "payload.amount"})
    doc = _built(admin, org, form, "from_the_erp")
    assert doc["trigger"] == {"event": "inbound_webhook", "secret": "erp_signing", "user": "admin",
                              "payload": {"deal_name": "text", "amount": "number"}}
    assert doc["actions"] == [{"type": "create_record", "object": "deal",
                               "values": {"name": "payload.deal_name", "amount": "payload.amount"}}]


def _refused(admin, services, form, *, page=False):
    before = services.changes.active().number
    r = admin.post("/setup/workflows/new", form)
    assert r.status_code == 422, r.get_data(as_text=True)[:2000]
    assert services.changes.active().number == before
    html = r.get_data(as_text=True)
    return (invalid_inputs(html), html) if page else invalid_inputs(html)


def test_bad_input_on_the_new_cards_is_shown_at_its_input_and_nothing_is_saved(admin, org):
    # the form's own checks
    form = _new_form(admin, **{"label": "Bad", "actions.0.type": "update_related", "actions.0.related": "",
                               "actions.0.values.0.field": "quantity", "actions.0.values.0.expr": "1"})
    form["actions.1.type"], form["actions.1.wait_mode"], form["actions.1.duration"] = "wait", "duration", ""
    form["actions.2.type"], form["actions.2.assign"], form["actions.2.group"] = "assign_owner", "group", ""
    bad = _refused(admin, org, form)
    assert "choose the related records" in bad["actions.0.related"]
    assert "enter how long" in bad["actions.1.duration"]
    assert "choose the group" in bad["actions.2.group"]
    # the pipeline's, mapped back: a related filter on the related object, a duration, an until of the wrong type
    form = _new_form(admin, **{"label": "Bad", "actions.0.type": "update_related", "actions.0.related": "deal_item.deal",
                               "actions.0.filter": "amount > 1", "actions.0.values.0.field": "quantity",
                               "actions.0.values.0.expr": "'many'"})
    form["actions.1.type"], form["actions.1.wait_mode"], form["actions.1.duration"] = "wait", "duration", "soonish"
    form["actions.2.type"], form["actions.2.wait_mode"], form["actions.2.until"] = "wait", "until", "name"
    bad = _refused(admin, org, form)
    assert "amount" in bad["actions.0.filter"] and "actions.0.values.0.expr" in bad
    assert "soonish" in bad["actions.1.duration"] and "date or a datetime" in bad["actions.2.until"]
    # a lookup that does not point at the workflow's object (a forged post)
    form = _new_form(admin, **{"label": "Bad", "actions.0.type": "update_related", "actions.0.related": "deal.company",
                               "actions.0.values.0.field": "name", "actions.0.values.0.expr": "'x'"})
    assert "is not a lookup pointing at" in _refused(admin, org, form)["actions.0.related"]
    # a wait in a before-save workflow: on its type
    form = _new_form(admin, **{"label": "Bad", "trigger.timing": "before_save", "actions.0.type": "wait",
                               "actions.0.duration": "1h"})
    assert "cannot wait" in _refused(admin, org, form)["actions.0.type"]
    assert org_doc(org, "bad") is None


def test_bad_inbound_trigger_input_is_shown_at_its_input(admin, org):
    form = _new_form(admin, **{"label": "Bad hook", "trigger.event": "inbound_webhook", "trigger.secret": "",
                               "trigger.user": "", "trigger.payload.0.key": "Bad Key", "trigger.payload.0.type": "text",
                               "actions.0.type": "create_record", "actions.0.object": "deal",
                               "actions.0.values.0.field": "name", "actions.0.values.0.expr": "'x'"})
    form["trigger.payload.1.key"], form["trigger.payload.1.type"] = "amount", "money"
    bad = _refused(admin, org, form)
    assert "credential" in bad["trigger.secret"] and "username" in bad["trigger.user"]
    assert "lower-case" in bad["trigger.payload.0.key"] and "type" in bad["trigger.payload.1.type"]
    form = _new_form(admin, **{"label": "Bad hook", "trigger.event": "inbound_webhook", "trigger.secret": "erp_signing",
                               "trigger.user": "admin", "trigger.payload.0.key": "", "trigger.payload.0.type": "text",
                               "actions.0.type": "create_record", "actions.0.object": "deal",
                               "actions.0.values.0.field": "name", "actions.0.values.0.expr": "payload.nope"})
    _bad, html = _refused(admin, org, form, page=True)
    assert 'data-error-for="trigger.payload">declare at least one key' in html
    form["trigger.payload.0.key"] = "deal_name"
    assert "nope" in _refused(admin, org, form)["actions.0.values.0.expr"]    # the pipeline: a key not declared
    form["actions.0.values.0.expr"] = "payload.deal_name"
    form["actions.1.type"], form["actions.1.values.0.field"], form["actions.1.values.0.expr"] = \
        "update_record", "name", "'x'"
    # shown on the card's "Which record" choice, where "another record, found by a key" is picked
    assert "inbound webhook has no record" in _refused(admin, org, form)["actions.1.find"]
    assert org_doc(org, "bad_hook") is None


def test_the_live_check_knows_a_waits_until_and_an_inbound_webhooks_payload_keys(admin):
    from setup_helpers import BASE

    def check(body):
        r = admin.client.post("/setup/objects/deal/check-expression", base_url=BASE,
                              headers={"Referer": f"{BASE}/setup/", "X-CSRFToken": admin.token}, json=body)
        assert r.status_code == 200
        return r.get_json()
    assert check({"expression": "ADD_DAYS(close_date, -1)", "kind": "when"}) == {"ok": True, "type": "date"}
    assert "date or a datetime" in check({"expression": "name", "kind": "when"})["error"]
    payload = {"deal_name": "text", "amount": "number"}
    assert check({"expression": "payload.deal_name", "kind": "value", "target": "deal", "field": "name",
                  "payload": payload}) == {"ok": True, "type": "text"}
    assert check({"expression": "payload.amount > 3", "kind": "condition", "payload": payload})["ok"]
    assert check({"expression": "payload.nope", "kind": "text", "payload": payload})["ok"] is False
    assert check({"expression": "name", "kind": "text", "payload": payload})["ok"] is False   # no record there
    assert check({"expression": "payload.amount", "kind": "text", "payload": {"amount": 3}})["ok"] is False   # ignored
