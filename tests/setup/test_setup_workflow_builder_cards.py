"""Setup → Automation: the builder's send_email and webhook cards (and submit_for_approval's
process choice) — every stock workflow and every kind of step the schema allows round-trips through
the builder unchanged, and new steps are built and checked at their inputs. Through the setup UI;
both databases."""
from __future__ import annotations

import pytest

from tessera.automation import credentials
from tessera.meta.source import load_package
from test_setup_workflow_kinds import ROOT, _apply, base_form, build, rendered_form
from test_setup_workflows import invalid_inputs, md, org_doc

STOCK_APPS = ("sales", "marketing", "service")
STOCK_WORKFLOWS = sorted(p.stem for app in ("sales", "service") for p in (ROOT / "apps" / app / "workflows").glob("*.yaml")) \
    + sorted(p.stem for p in (ROOT / "metadata" / "core" / "workflows").glob("*.yaml"))

DEAL_TEMPLATE = {"name": "deal_won_note", "object": "deal", "subject": "Won: {{ record.name }}",
                 "text_body": "{{ record.name }} was won ({{ record.amount }})."}
# one workflow per kind of step the schema allows on the test package's deal, with every optional property
ALL_STEPS = {
    "every_email_property": {"object": "deal", "trigger": {"event": "update", "condition": "amount > 10"},
                             "actions": [{"type": "send_email", "label": "Tell them", "template": "deal_won_note",
                                          "to": ["owner.email", "'sales@example.com'"], "cc": ["'boss@example.com'"]}]},
    "every_webhook_property": {"object": "deal", "trigger": {"event": "create_or_update"},
                               "actions": [{"type": "webhook", "url": "https://hooks.example.com/deals",
                                            "credential": "erp_signing", "event": "deal.changed",
                                            "payload": ["name", "amount", "stage"]},
                                           {"type": "webhook", "label": "Whole record",
                                            "url": "http://10.0.0.5/in", "credential": "erp_signing"}]},
    "branches_of_everything": {"object": "deal", "trigger": {"event": "manual"}, "run_as": "triggering_user",
                               "actions": [{"type": "if", "condition": "amount > 1000",
                                            "then": [{"type": "send_email", "template": "deal_won_note",
                                                      "to": ["owner.email"]}],
                                            "else": [{"type": "webhook", "url": "https://x.example/h",
                                                      "credential": "erp_signing", "payload": ["name"]},
                                                     {"type": "notify", "to": ["owner"], "title": "'Small: ' + name"}]}]},
}


@pytest.fixture
def stock(services):
    pkgs = [load_package(ROOT / "apps" / name) for name in STOCK_APPS]
    services.changes.install_packages(pkgs, author="test", message="stock apps")
    return services


@pytest.fixture
def with_template(services):
    org = services.changes.active().snapshot["org"] or {"manifest": None, "components": {}}
    components = {k: dict(v) for k, v in (org.get("components") or {}).items()}
    components.setdefault("email_templates", {})["deal_won_note"] = {"source": "email_templates/deal_won_note.yaml",
                                                                     "doc": DEAL_TEMPLATE}
    services.changes.apply_org({"manifest": org.get("manifest"), "components": components}, author="test",
                               message="a deal email template")
    credentials.set_credential(services.engine, "erp_signing", "webhook_signing")
    return services


def _saves_nothing(admin, services, name):
    before = services.changes.active().number
    stored = dict(md(services).workflows[name].doc)
    page = admin.get(f"/setup/workflows/{name}/").get_data(as_text=True)
    assert 'id="workflow-form"' in page and "workflow-read-only" not in page, page[:2000]
    r = admin.post(f"/setup/workflows/{name}/", rendered_form(page))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]       # "nothing to save": the plan is empty
    assert services.changes.active().number == before
    assert dict(md(services).workflows[name].doc) == stored
    return page


@pytest.mark.parametrize("name", STOCK_WORKFLOWS)
def test_every_stock_workflow_round_trips_through_the_builder(admin, stock, name):
    _saves_nothing(admin, stock, name)
    assert org_doc(stock, name) is None


@pytest.mark.parametrize("name", sorted(ALL_STEPS))
def test_every_step_kind_round_trips_through_the_builder(admin, with_template, name):
    _apply(with_template, name, ALL_STEPS[name])
    _saves_nothing(admin, with_template, name)
    assert org_doc(with_template, name) == {"name": name, **ALL_STEPS[name]}


def test_the_email_card_offers_the_objects_templates_and_the_webhook_card_the_stored_credentials(admin, with_template):
    _apply(with_template, "every_webhook_property", ALL_STEPS["every_webhook_property"])
    page = admin.get("/setup/workflows/new?object=deal").get_data(as_text=True)
    assert '<option value="deal_won_note">' in page                   # a template of the deal object
    assert "case_auto_response" not in page                           # (no other object's)
    assert '<option value="erp_signing">erp_signing</option>' in page   # a stored credential, never its secret
    form = rendered_form(admin.get("/setup/workflows/every_webhook_property/").get_data(as_text=True))
    assert form["actions.0.url"] == "https://hooks.example.com/deals" and form["actions.0.credential"] == "erp_signing"
    assert form["actions.0.payload"] == "name, amount, stage" and form["actions.0.event"] == "deal.changed"


def _email_and_webhook_form(**overrides):
    return base_form(**{"label": "Tell everyone", "trigger.event": "update", "trigger.field": "",
                        "trigger.direction": "after", "trigger.offset.days": "",
                        "actions.0.type": "send_email", "actions.0.to.0": "", "actions.0.title": "",
                        "actions.0.template": "deal_won_note", "actions.0.email_to.0": "owner.email",
                        "actions.0.email_to.1": "", "actions.0.cc.0": "'boss@example.com'",
                        "actions.1.type": "webhook", "actions.1.url": "https://hooks.example.com/deals",
                        "actions.1.credential": "erp_signing", "actions.1.event": "",
                        "actions.1.payload": "name,  amount", **overrides})


def test_build_email_and_webhook_steps(admin, with_template):
    doc = build(admin, with_template, _email_and_webhook_form())
    assert doc["actions"] == [
        {"type": "send_email", "template": "deal_won_note", "to": ["owner.email"], "cc": ["'boss@example.com'"]},
        {"type": "webhook", "url": "https://hooks.example.com/deals", "credential": "erp_signing",
         "payload": ["name", "amount"]}]


def test_email_and_webhook_errors_are_shown_at_their_inputs(admin, with_template):
    before = with_template.changes.active().number
    r = admin.post("/setup/workflows/new", _email_and_webhook_form(**{
        "actions.0.template": "", "actions.0.email_to.0": "", "actions.0.cc.0": "amount > 3",
        "actions.1.url": "ftp://nope", "actions.1.credential": "", "actions.1.payload": "name, no_such_field"}))
    assert r.status_code == 422
    bad = invalid_inputs(r.get_data(as_text=True))
    assert "template" in bad["actions.0.template"] and "credential" in bad["actions.1.credential"]
    assert "add a recipient (an expression giving an email address" in r.get_data(as_text=True)
    assert with_template.changes.active().number == before
    # the form's own checks pass; the pipeline's are mapped back to the inputs
    r = admin.post("/setup/workflows/new", _email_and_webhook_form(**{"actions.1.url": "ftp://nope"}))
    assert r.status_code == 422
    assert "not an http or https URL" in invalid_inputs(r.get_data(as_text=True))["actions.1.url"]
    r = admin.post("/setup/workflows/new", _email_and_webhook_form(**{
        "actions.0.email_to.1": "amount > 3", "actions.1.payload": "name, no_such_field"}))
    assert r.status_code == 422
    bad = invalid_inputs(r.get_data(as_text=True))
    assert "actions.0.email_to.1" in bad and "no_such_field" in bad["actions.1.payload"]
    assert with_template.changes.active().number == before


# --------------------------------------------------------------------------- "Test on a record"

def test_the_builder_dry_runs_its_unsaved_form_on_a_record(admin, with_template, api):
    from sqlalchemy import func, select

    from tessera.storage.engine import begin_read
    from tessera.storage.platform_tables import email_outbox, jobs, workflow_runs
    services = with_template
    _apply(services, "every_email_property", ALL_STEPS["every_email_property"])
    deal = api.post("/api/v1/records/deal", json={"name": "Zeppelin order", "amount": 700}).json
    api.post("/api/v1/records/deal", json={"name": "Other", "amount": 5})
    found = admin.get("/setup/workflows/every_email_property/dry-run/records?q=zeppelin").get_json()
    assert found == {"results": [{"id": deal["id"], "text": "Zeppelin order"}]}

    def counts():
        with begin_read(services.engine) as conn:
            return [conn.execute(select(func.count()).select_from(t)).scalar() for t in (email_outbox, jobs, workflow_runs)]
    before, version = counts(), services.changes.active().number
    form = rendered_form(admin.get("/setup/workflows/every_email_property/").get_data(as_text=True))
    form["actions.0.cc.0"] = "'draft@example.com'"                        # unsaved
    r = admin.post("/setup/workflows/every_email_property/dry-run", {**form.to_dict(), "_record": deal["id"]})
    assert r.status_code == 200, r.get_data(as_text=True)
    out = r.get_json()
    assert out["status"] == "would_run" and out["draft"] and out["condition"]["result"] is True
    [email] = out["emails"]
    assert email["to"] == ["ada@example.com", "sales@example.com"] and email["cc"] == ["draft@example.com"]
    assert email["subject"] == "Won: Zeppelin order"
    assert counts() == before and services.changes.active().number == version

    # a bad draft: each problem with the input that shows it; no record chosen: said so
    form["actions.0.cc.0"] = "amount +"
    r = admin.post("/setup/workflows/every_email_property/dry-run", {**form.to_dict(), "_record": deal["id"]})
    assert r.status_code == 422 and r.get_json()["error"]["errors"][0]["input"] == "actions.0.cc.0"
    form["actions.0.template"] = ""
    r = admin.post("/setup/workflows/every_email_property/dry-run", {**form.to_dict(), "_record": deal["id"]})
    assert r.status_code == 422 and r.get_json()["error"]["errors"][0]["input"] == "actions.0.template"
    r = admin.post("/setup/workflows/every_email_property/dry-run", form.to_dict())
    assert r.status_code == 422 and "choose a record" in r.get_json()["error"]["message"]
    r = admin.post("/setup/workflows/every_email_property/dry-run",
                   {**form.to_dict(), "actions.0.template": "deal_won_note", "actions.0.cc.0": "",
                    "_record": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert admin.post("/setup/workflows/nope/dry-run", {"_record": deal["id"]}).status_code == 404
    assert counts() == before
