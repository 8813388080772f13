"""Setup → Automation → Approval Processes: the editor (steps, approvers, final actions) saved
through the change pipeline with the plan first, errors next to their inputs, package processes
overridden whole, deactivate / delete / revert, read-only for what the form cannot carry; the
workflow builder's submit_for_approval step. Both databases."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st


from test_setup_workflows import invalid_inputs, md

ROOT = Path(__file__).resolve().parents[2]


def org_doc(services, name):
    item = services.changes.active().snapshot["org"]["components"].get("approval_processes", {}).get(name)
    return item["doc"] if item else None


def process_form(**overrides) -> dict:
    """Deals above 1000: the submitter's manager, then (above 100000, unanimous) the user admin and
    the role tp_lead; approved deals move to Working and their owner is notified."""
    form = {"label": "Big deals", "name": "", "object": "deal", "description": "Large deals are reviewed",
            "entry_condition": "amount > 1000", "lock_record": "1", "active": "1",
            "steps.0.label": "Manager", "steps.0.approvers.0.type": "manager", "steps.0.approvers.0.value": "",
            "steps.0.decision": "first_response", "steps.0.when_no_approver": "refuse", "steps.0.entry_condition": "",
            "steps.1.label": "Leadership", "steps.1.approvers.0.type": "user", "steps.1.approvers.0.value": "admin",
            "steps.1.approvers.1.type": "role", "steps.1.approvers.1.value": "tp_lead",
            "steps.1.decision": "unanimous", "steps.1.when_no_approver": "skip",
            "steps.1.entry_condition": "amount > 100000",
            "on_approve.0.type": "update_record", "on_approve.0.values.0.field": "stage",
            "on_approve.0.values.0.expr": "'Working'",
            "on_approve.1.type": "notify", "on_approve.1.to.0": "owner", "on_approve.1.title": "'Approved: ' + name"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def test_build_a_process_review_the_plan_confirm_and_it_applies(admin, services, api, client_for):
    before = services.changes.active().number
    page = admin.get("/setup/approval-processes/new").get_data(as_text=True)
    assert 'id="approval-form"' in page and 'id="ap-step-template"' in page
    review = admin.post("/setup/approval-processes/new", process_form())
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "Confirm and save" in html and "big_deals" in html
    assert services.changes.active().number == before
    _review, done = admin.change("/setup/approval-processes/new", process_form())
    assert done.status_code == 302 and done.headers["Location"].endswith("/setup/approval-processes/")
    assert services.changes.active().number == before + 1
    doc = dict(md(services).approval_processes["big_deals"].doc)
    assert doc == {"name": "big_deals", "label": "Big deals", "description": "Large deals are reviewed", "object": "deal",
                   "entry_condition": "amount > 1000",
                   "steps": [{"label": "Manager", "approvers": [{"type": "manager"}]},
                             {"label": "Leadership", "entry_condition": "amount > 100000",
                              "approvers": [{"type": "user", "user": "admin"}, {"type": "role", "role": "tp_lead"}],
                              "decision": "unanimous", "when_no_approver": "skip"}],
                   "on_approve": [{"type": "update_record", "values": {"stage": "'Working'"}},
                                  {"type": "notify", "to": ["owner"], "title": "'Approved: ' + name"}]}
    listing = admin.get("/setup/approval-processes/").get_data(as_text=True)
    assert 'data-process="big_deals"' in listing and "the submitter&#39;s manager" in listing
    # the saved process works
    boss, _ = services.identity.create_user("boss", password="Tq7-violet-harbor-92", profile="tp_rep")
    rep, _ = services.identity.create_user("rep", password="Tq7-violet-harbor-92", profile="tp_rep", manager=boss["id"])
    deal = client_for(rep).post("/api/v1/records/deal", json={"name": "D", "amount": 5000}).json
    request = client_for(rep).post("/api/v1/approvals", json={"object": "deal", "record_id": deal["id"]}).json
    assert request["approvers"] == [boss["id"]]
    # the edit form shows it back; saved unchanged, nothing to save
    page = admin.get("/setup/approval-processes/big_deals/").get_data(as_text=True)
    assert 'value="Leadership"' in page and "amount &gt; 100000" in page and 'id="approval-read-only"' not in page
    again = admin.post("/setup/approval-processes/big_deals/", process_form(name="big_deals"))
    assert again.status_code == 302 and services.changes.active().number == before + 1


@pytest.mark.parametrize("overrides, field, words", [
    ({"object": ""}, "object", "choose an object"),
    ({"steps.0.approvers.0.type": "user", "steps.0.approvers.0.value": ""}, "steps.0.approvers.0.value", "username"),
    ({"entry_condition": "amount + 1"}, "entry_condition", "boolean"),
    ({"steps.1.entry_condition": "nope > 1"}, "steps.1.entry_condition", "nope"),
    ({"steps.1.approvers.1.value": "no_such_role"}, "steps.1.approvers.1.value", "there is no role"),
    ({"steps.0.approvers.0.type": "field", "steps.0.approvers.0.value": "company"}, "steps.0.approvers.0.value",
     "not a lookup to a user"),
    ({"on_approve.0.values.0.expr": "'x' + 1"}, "on_approve.0.values.0.expr", ""),
    ({"on_approve.1.title": ""}, "on_approve.1.title", "enter the title"),
    ({"steps.0.decision": "majority"}, "steps.0.decision", "choose how"),
])
def test_errors_land_next_to_their_inputs(admin, services, overrides, field, words):
    before = services.changes.active().number
    response = admin.post("/setup/approval-processes/new", process_form(**overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:3000]
    errors = invalid_inputs(html)
    assert field in errors and words in errors[field], errors
    assert services.changes.active().number == before


def test_an_unknown_user_is_refused_by_the_pipeline(admin, services):
    response = admin.post("/setup/approval-processes/new", process_form(**{"steps.1.approvers.0.value": "ghost"}))
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "there is no active user" in html and "ghost" in html



def test_the_stock_process_round_trips_and_is_overridden_whole(admin, sales):
    from test_setup_workflow_kinds import rendered_form
    name = "opportunity_discount"
    package_doc = dict(md(sales).approval_processes[name].doc)
    before = sales.changes.active().number
    page = admin.get(f"/setup/approval-processes/{name}/").get_data(as_text=True)
    assert 'id="approval-form"' in page and "belongs to the <strong>sales</strong> package" in page
    form = rendered_form(page)
    assert form["steps.0.approvers.0.type"] == "manager" and form["entry_condition"] == "discount_percent > 20"
    saved = admin.post(f"/setup/approval-processes/{name}/", form)
    assert saved.status_code == 302 and sales.changes.active().number == before      # nothing to save
    assert dict(md(sales).approval_processes[name].doc) == package_doc
    # deactivate: the org's copy; revert: the package's again
    admin.change(f"/setup/approval-processes/{name}/active", {"active": "0"})
    assert org_doc(sales, name)["active"] is False
    assert md(sales).approval_processes[name]["active"] is False
    admin.change(f"/setup/approval-processes/{name}/delete", {})
    assert org_doc(sales, name) is None and md(sales).approval_processes[name].get("active", True) is True
    assert admin.post(f"/setup/approval-processes/{name}/delete", {}).status_code == 404   # the package's own


def test_what_the_form_cannot_carry_is_read_only(admin, services):
    deep = [{"type": "update_record", "values": {"probability": "50"}}]
    for _ in range(9):   # deeper than the builder shows
        deep = [{"type": "if", "condition": "amount > 1", "then": deep}]
    org = {"manifest": None, "components": {"approval_processes": {"odd": {
        "source": "approval_processes/odd.yaml", "doc": {
            "name": "odd", "object": "deal", "steps": [{"approvers": [{"type": "manager"}]}],
            "on_approve": deep}}}}}
    services.changes.apply_org(org, author="test")
    page = admin.get("/setup/approval-processes/odd/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="approval-read-only"' in html and "nested deeper" in html
    assert admin.post("/setup/approval-processes/odd/", process_form(name="odd")).status_code == 409


def test_missing_pages_and_the_builders_submit_step(admin, services):
    assert admin.get("/setup/approval-processes/nope/").status_code == 404
    assert admin.post("/setup/approval-processes/nope/active", {"active": "0"}).status_code == 404
    services.changes.apply_org({"manifest": None, "components": {"approval_processes": {"big": {
        "source": "approval_processes/big.yaml", "doc": {"name": "big", "object": "deal",
                                                         "steps": [{"approvers": [{"type": "manager"}]}]}}}}},
                               author="test")
    form = {"label": "Submit big", "name": "", "object": "deal", "trigger.event": "update", "trigger.timing": "after_save",
            "trigger.condition": "amount > 1000", "trigger.when": "becomes_true", "run_as": "system", "active": "1",
            "actions.0.type": "submit_for_approval", "actions.0.process": "big"}
    admin.change("/setup/workflows/new", form)
    assert md(services).workflows["submit_big"]["actions"] == [{"type": "submit_for_approval", "process": "big"}]
    page = admin.get("/setup/workflows/submit_big/").get_data(as_text=True)
    assert "workflow-read-only" not in page and '<option value="big" selected>' in page

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=25)
_keys = st.sampled_from(["label", "name", "object", "entry_condition", "lock_record", "active", "steps.0.label",
                         "steps.0.approvers.0.type", "steps.0.approvers.0.value", "steps.1.approvers.3.type",
                         "steps.0.decision", "steps.0.when_no_approver", "steps.0.entry_condition", "steps.99.x",
                         "on_approve.0.type", "on_approve.0.values.0.field", "on_approve.0.values.0.expr",
                         "on_reject.0.then.0.type", "on_recall.0.to.0", "on_recall.x.y", "steps..approvers"])
_values = st.one_of(_text, st.sampled_from(["deal", "manager", "user", "role", "field", "queue", "unanimous", "skip",
                                            "update_record", "if", "notify", "amount > 1", "owner", ""]))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(form=st.lists(st.tuples(_keys, _values), max_size=10))
def test_random_editor_posts_never_fail_the_server(admin, form):
    r = admin.post("/setup/approval-processes/new", form)
    assert r.status_code < 500, (form, r.get_data(as_text=True)[:800])
