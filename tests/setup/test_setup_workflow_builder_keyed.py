"""Setup → Automation: the builder's cards for the steps that find their record by a key —
upsert_record, and update_record with `match` (automation/keyed_writes.py). Stored workflows using
them open in the builder (not read-only) and saved unchanged make no new version; new ones are built
from the form with the object's key fields as choices; bad input is shown at its input with nothing
saved. Through the setup UI; both databases."""
from __future__ import annotations

import pytest

from tessera.automation import credentials
from test_setup_workflow_builder_cards import _saves_nothing
from test_setup_workflow_kinds import _apply, rendered_form
from test_setup_workflows import invalid_inputs, org_doc

UPSERT = {"type": "upsert_record", "object": "company", "match": {"field": "code", "value": "name"},
          "values": {"industry": "'Retail'"}, "on_create": {"name": "name + ' Ltd'"}}
STORED = {
    "keyed_sync": {"object": "deal", "trigger": {"event": "create"},
                   "actions": [UPSERT,
                               {"type": "upsert_record", "label": "Second key", "object": "company",
                                "match": {"field": "code", "value": "name + '-2'"}, "values": {"employees": "3", "name": "name"}},
                               {"type": "update_record", "object": "company", "match": {"field": "code", "value": "name"},
                                "values": {"active": "amount > 0"}},
                               {"type": "update_record", "match": {"field": "number", "value": "number"},
                                "values": {"probability": "20"}},
                               {"type": "update_record", "values": {"probability": "30"}},
                               {"type": "if", "condition": "amount > 1", "then": [UPSERT]}]},
    "keyed_inbound": {"object": "company",
                      "trigger": {"event": "inbound_webhook", "secret": "erp_signing", "user": "admin",
                                  "payload": {"code": "text", "name": "text"}},
                      "actions": [{"type": "update_record", "match": {"field": "code", "value": "payload.code"},
                                   "values": {"name": "payload.name"}},
                                  {"type": "upsert_record", "object": "company",
                                   "match": {"field": "code", "value": "payload.code + '-copy'"},
                                   "values": {"name": "payload.name"}}]},
}


@pytest.fixture
def org(services):
    credentials.set_credential(services.engine, "erp_signing", "webhook_signing")
    return services


@pytest.mark.parametrize("name", sorted(STORED))
def test_stored_keyed_steps_round_trip_through_the_builder(admin, org, name):
    _apply(org, name, STORED[name])
    _saves_nothing(admin, org, name)          # editable (not read-only), and saving it makes no new version
    assert org_doc(org, name) == {"name": name, **STORED[name]}


def test_the_cards_show_the_stored_keys_and_offer_the_key_fields(admin, org):
    _apply(org, "keyed_sync", STORED["keyed_sync"])
    page = admin.get("/setup/workflows/keyed_sync/").get_data(as_text=True)
    form = rendered_form(page)
    assert (form["actions.0.type"], form["actions.0.object"]) == ("upsert_record", "company")
    assert (form["actions.0.match_field"], form["actions.0.match_value"]) == ("code", "name")
    assert (form["actions.0.values.0.field"], form["actions.0.values.0.expr"]) == ("industry", "'Retail'")
    assert (form["actions.0.on_create.0.field"], form["actions.0.on_create.0.expr"]) == ("name", "name + ' Ltd'")
    assert form["actions.1.label"] == "Second key" and form["actions.1.on_create.0.field"] == ""
    assert (form["actions.2.find"], form["actions.2.object"], form["actions.2.match_field"]) == ("match", "company", "code")
    assert (form["actions.3.find"], form["actions.3.object"], form["actions.3.match_field"]) == ("match", "", "number")
    assert form["actions.4.find"] == "self"
    assert form["actions.5.then.0.match_field"] == "code"
    # the key fields offered are the target object's unique ones: company's external id, deal's autonumber
    assert '<option value="code" selected>Code (code)</option>' in page
    assert '<option value="number" data-autonumber="1" selected>Number (number)</option>' in page
    assert 'value="name" selected>Company Name' not in page.split('name="actions.0.match_field"')[1].split("</select>")[0]


def _new_form(admin, **overrides):
    form = rendered_form(admin.get("/setup/workflows/new?object=deal").get_data(as_text=True))
    for key, value in overrides.items():
        form[key] = value
    return form


def test_build_an_upsert_and_an_update_by_key_and_they_run(admin, org, api):
    form = _new_form(admin, **{"label": "Company by code", "trigger.event": "create",
                               "actions.0.type": "upsert_record", "actions.0.object": "company",
                               "actions.0.match_field": "code", "actions.0.match_value": "name",
                               "actions.0.values.0.field": "industry", "actions.0.values.0.expr": "'Energy'",
                               "actions.0.on_create.0.field": "name", "actions.0.on_create.0.expr": "'New ' + name"})
    for key, value in (("type", "update_record"), ("find", "match"), ("object", ""), ("match_field", "number"),
                       ("match_value", "number"), ("values.0.field", "probability"), ("values.0.expr", "40")):
        form[f"actions.1.{key}"] = value
    before = org.changes.active().number
    _review, done = admin.change("/setup/workflows/new", form)
    assert done.status_code == 302 and org.changes.active().number == before + 1
    assert org_doc(org, "company_by_code")["actions"] == [
        {"type": "upsert_record", "object": "company", "match": {"field": "code", "value": "name"},
         "values": {"industry": "'Energy'"}, "on_create": {"name": "'New ' + name"}},
        {"type": "update_record", "match": {"field": "number", "value": "number"}, "values": {"probability": "40"}}]
    deal = api.post("/api/v1/records/deal", json={"name": "ACME7"}).json
    companies = api.get("/api/v1/records/company", query_string={"filter": "code == 'ACME7'"}).json["records"]
    assert [(c["name"], c["industry"]) for c in companies] == [("New ACME7", "Energy")]
    assert api.get(f"/api/v1/records/deal/{deal['id']}").json["probability"] == 40
    _saves_nothing(admin, org, "company_by_code")   # what the builder built, it shows again as built


def _refused(admin, services, form):
    before = services.changes.active().number
    r = admin.post("/setup/workflows/new", form)
    assert r.status_code == 422, r.get_data(as_text=True)[:2000]
    assert services.changes.active().number == before
    return invalid_inputs(r.get_data(as_text=True))


def test_bad_keyed_input_is_shown_at_its_input_and_nothing_is_saved(admin, org):
    # the form's own checks: an upsert without its object or key; an update by key without the key
    form = _new_form(admin, **{"label": "Bad", "actions.0.type": "upsert_record", "actions.0.object": "",
                               "actions.0.match_field": "", "actions.0.match_value": "",
                               "actions.0.values.0.field": "name", "actions.0.values.0.expr": "'x'"})
    for key, value in (("type", "update_record"), ("find", "match"), ("object", "company"), ("match_field", ""),
                       ("match_value", "name"), ("values.0.field", "industry"), ("values.0.expr", "'Retail'")):
        form[f"actions.1.{key}"] = value
    bad = _refused(admin, org, form)
    assert "choose the object" in bad["actions.0.object"]
    assert "key field" in bad["actions.0.match_field"] and "expression giving the key" in bad["actions.0.match_value"]
    assert "key field" in bad["actions.1.match_field"]
    # the pipeline's, mapped back: a key that is not unique, the key set in on_create, a value of the wrong type
    form = _new_form(admin, **{"label": "Bad", "actions.0.type": "upsert_record", "actions.0.object": "company",
                               "actions.0.match_field": "name", "actions.0.match_value": "name",
                               "actions.0.values.0.field": "industry", "actions.0.values.0.expr": "'Retail'"})
    for key, value in (("type", "upsert_record"), ("object", "company"), ("match_field", "code"),
                       ("match_value", "amount > 1"), ("values.0.field", "employees"), ("values.0.expr", "'many'"),
                       ("on_create.0.field", "code"), ("on_create.0.expr", "'x'")):
        form[f"actions.1.{key}"] = value
    bad = _refused(admin, org, form)
    assert "neither an external id nor unique" in bad["actions.0.match_field"]
    assert "actions.1.match.value" in bad["actions.1.match_value"]
    assert "actions.1.values.0.expr" in bad and "match key" in bad["actions.1.on_create.0.expr"]
    # an autonumber cannot key a new record; an update by key cannot run before save
    form = _new_form(admin, **{"label": "Bad", "actions.0.type": "upsert_record", "actions.0.object": "deal",
                               "actions.0.match_field": "number", "actions.0.match_value": "number",
                               "actions.0.values.0.field": "name", "actions.0.values.0.expr": "'x'"})
    assert "autonumber" in _refused(admin, org, form)["actions.0.match_field"]
    form = _new_form(admin, **{"label": "Bad", "trigger.timing": "before_save", "actions.0.type": "update_record",
                               "actions.0.find": "match", "actions.0.match_field": "number",
                               "actions.0.match_value": "number", "actions.0.values.0.field": "name",
                               "actions.0.values.0.expr": "'x'"})
    assert "after_save" in _refused(admin, org, form)["actions.0.find"]
    assert org_doc(org, "bad") is None
