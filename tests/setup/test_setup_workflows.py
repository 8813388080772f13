"""Setup → Automation: the workflow builder (plan first, then a new version), package workflows
overridden whole (deactivate, revert), and the run log. Through the setup UI; both databases."""
from __future__ import annotations

import re

BASE = "https://localhost"


def md(services):
    return services.runtimes.current().metadata


def org_doc(services, name):
    item = services.changes.active().snapshot["org"]["components"].get("workflows", {}).get(name)
    return item["doc"] if item else None


def big_deal_form(**overrides) -> dict:
    """The builder's post for: a new deal over 1000 gets probability 75 (before save); over 10000
    it also moves to Working (an `if` with a nested step)."""
    form = {"label": "Big deal defaults", "name": "", "object": "deal", "description": "",
            "trigger.event": "create", "trigger.timing": "before_save", "trigger.condition": "amount > 1000",
            "trigger.when": "always", "run_as": "system", "active": "1",
            "actions.0.type": "update_record", "actions.0.label": "Likely",
            "actions.0.values.0.field": "probability", "actions.0.values.0.expr": "75",
            "actions.1.type": "if", "actions.1.label": "Very big", "actions.1.condition": "amount > 10000",
            "actions.1.then.0.type": "update_record", "actions.1.then.0.values.0.field": "stage",
            "actions.1.then.0.values.0.expr": "'Working'"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def invalid_inputs(html: str) -> dict[str, str]:
    """{input name: its error text} of a re-rendered form."""
    names = re.findall(r'<(?:input|select|textarea)[^>]*class="[^"]*is-invalid[^"]*"[^>]*name="([^"]+)"', html)
    errors = dict(re.findall(r'data-error-for="([^"]+)">(.*?)</div>', html, re.S))
    return {n: errors.get(n, "") for n in names}


def test_build_a_workflow_review_the_plan_confirm_and_it_runs(admin, services, api):
    before = services.changes.active().number
    review = admin.post("/setup/workflows/new", big_deal_form())
    html = review.get_data(as_text=True)
    assert review.status_code == 200 and "Confirm and save" in html
    assert "big_deal_defaults" in html                     # the plan names the new workflow
    assert services.changes.active().number == before      # the review saved nothing
    _review, done = admin.change("/setup/workflows/new", big_deal_form())
    assert done.status_code == 302 and done.headers["Location"].endswith("/setup/workflows/")
    version = services.changes.active()
    assert version.number == before + 1 and version.source == "ui"
    wf = md(services).workflows["big_deal_defaults"]
    assert wf.package is None and wf["trigger"] == {"event": "create", "timing": "before_save",
                                                     "condition": "amount > 1000"}
    assert [a["type"] for a in wf["actions"]] == ["update_record", "if"]
    assert wf["actions"][1]["then"] == [{"type": "update_record", "values": {"stage": "'Working'"}}]

    small = api.post("/api/v1/records/deal", json={"name": "Small", "amount": 500}).json
    big = api.post("/api/v1/records/deal", json={"name": "Big", "amount": 5000}).json
    huge = api.post("/api/v1/records/deal", json={"name": "Huge", "amount": 50000}).json
    assert (small["probability"], small["stage"]) == (10, "New")
    assert (big["probability"], big["stage"]) == (75, "New")
    assert (huge["probability"], huge["stage"]) == (75, "Working")

    listing = admin.get("/setup/workflows/").get_data(as_text=True)
    row = listing[listing.index('data-workflow="big_deal_defaults"'):]
    row = row[:row.index("</tr>")]
    assert "Big deal defaults" in row and "Active" in row and "Custom" in row and "succeeded" in row


def test_a_bad_condition_is_shown_at_its_input_and_nothing_is_saved(admin, services):
    before = services.changes.active().number
    r = admin.post("/setup/workflows/new", big_deal_form(**{"trigger.condition": "amount + 'x'"}))
    assert r.status_code == 422
    bad = invalid_inputs(r.get_data(as_text=True))
    assert list(bad) == ["trigger.condition"] and "trigger.condition" in bad["trigger.condition"]
    # a value of the wrong type, deep in a branch: the error is at that row's expression
    r = admin.post("/setup/workflows/new", big_deal_form(**{"actions.1.then.0.values.0.expr": "amount > 3"}))
    assert r.status_code == 422
    bad = invalid_inputs(r.get_data(as_text=True))
    assert list(bad) == ["actions.1.then.0.values.0.expr"]
    assert "actions.1.then.0.values.stage" in bad["actions.1.then.0.values.0.expr"]   # the error names the path
    # form problems found before the pipeline: each at its input
    r = admin.post("/setup/workflows/new", big_deal_form(**{"actions.0.values.0.expr": "", "actions.1.condition": "",
                                                            "object": "nope"}))
    assert r.status_code == 422
    assert {"object", "actions.0.values.0.expr", "actions.1.condition"} <= set(invalid_inputs(r.get_data(as_text=True)))
    # the re-rendered form keeps what was typed
    r = admin.post("/setup/workflows/new", big_deal_form(**{"trigger.condition": "amount >"}))
    assert "amount &gt;</textarea>" in r.get_data(as_text=True)
    assert services.changes.active().number == before and "big_deal_defaults" not in md(services).workflows


def test_edit_and_reorder_actions(admin, services):
    admin.change("/setup/workflows/new", big_deal_form())
    page = admin.get("/setup/workflows/big_deal_defaults/").get_data(as_text=True)
    assert 'name="actions.1.then.0.values.0.expr"' in page and "&#39;Working&#39;" in page
    # the builder posts its steps renumbered after a move: the `if` first, then the update
    swapped = big_deal_form(**{"label": "Big deals", "trigger.condition": "amount > 2000"})
    for key in [k for k in swapped if k.startswith("actions.")]:
        swapped.pop(key)
    swapped.update({"actions.0.type": "if", "actions.0.condition": "amount > 10000",
                    "actions.0.then.0.type": "update_record", "actions.0.then.0.values.0.field": "stage",
                    "actions.0.then.0.values.0.expr": "'Working'",
                    "actions.0.else.0.type": "update_record", "actions.0.else.0.values.0.field": "probability",
                    "actions.0.else.0.values.0.expr": "20",
                    "actions.1.type": "update_record", "actions.1.values.0.field": "probability",
                    "actions.1.values.0.expr": "75", "actions.1.values.1.field": "", "actions.1.values.1.expr": ""})
    admin.change("/setup/workflows/big_deal_defaults/", swapped)
    doc = org_doc(services, "big_deal_defaults")
    assert doc["label"] == "Big deals" and doc["trigger"]["condition"] == "amount > 2000"
    assert [a["type"] for a in doc["actions"]] == ["if", "update_record"]
    assert doc["actions"][0]["else"] == [{"type": "update_record", "values": {"probability": "20"}}]
    assert doc["actions"][1] == {"type": "update_record", "values": {"probability": "75"}}
    # deactivate and delete the org's own workflow from the list
    admin.change("/setup/workflows/big_deal_defaults/active", {"active": "0"})
    assert md(services).workflows["big_deal_defaults"].get("active") is False
    listing = admin.get("/setup/workflows/").get_data(as_text=True)
    assert "Inactive" in listing and ">Activate<" in listing
    admin.change("/setup/workflows/big_deal_defaults/delete", {})
    assert "big_deal_defaults" not in md(services).workflows


def test_deactivate_a_package_workflow_through_an_override_and_revert(admin, services, api):
    assert md(services).workflows["task_completed_at"].package == "core"
    assert admin.post("/setup/workflows/task_completed_at/delete", {}).status_code == 404   # a package's own
    review, _done = admin.change("/setup/workflows/task_completed_at/active", {"active": "0"})
    assert "task_completed_at" in review.get_data(as_text=True)
    wf = md(services).workflows["task_completed_at"]
    assert wf.package is None and wf.get("active") is False
    assert org_doc(services, "task_completed_at")["actions"]     # the whole document, copied
    listing = admin.get("/setup/workflows/").get_data(as_text=True)
    assert "Revert to package version" in listing and "Customized" in listing
    task = api.post("/api/v1/records/task", json={"subject": "Call", "status": "Completed"}).json
    assert task["completed_at"] is None                          # inactive: it did not run

    admin.change("/setup/workflows/task_completed_at/delete", {})   # revert
    wf = md(services).workflows["task_completed_at"]
    assert wf.package == "core" and wf.get("active", True) is True and org_doc(services, "task_completed_at") is None
    task = api.post("/api/v1/records/task", json={"subject": "Call", "status": "Completed"}).json
    assert task["completed_at"] is not None


def test_saving_an_untouched_package_workflow_changes_nothing(admin, services):
    page = admin.get("/setup/workflows/task_completed_at/").get_data(as_text=True)
    assert "belongs to the <strong>core</strong> package" in page
    form = {"label": "Completed tasks record when", "object": "task", "active": "1", "run_as": "system",
            "description": "A task that closes (Completed or Deferred) gets the time it was done, as Salesforce's "
                           "CompletedDateTime — the record timeline dates closed tasks and logged calls by it; "
                           "reopening it clears it.",
            "trigger.event": "create_or_update", "trigger.timing": "before_save", "trigger.when": "always",
            "trigger.condition": "ISCHANGED(status) or ISBLANK(PRIORVALUE(status))",
            "actions.0.type": "update_record", "actions.0.values.0.field": "completed_at",
            "actions.0.values.0.expr": "IF(status in ['Completed', 'Deferred'], BLANKVALUE(completed_at, NOW()), None)"}
    r = admin.post("/setup/workflows/task_completed_at/", form)
    assert r.status_code == 302      # "nothing to save": the org copy would equal the package's
    assert org_doc(services, "task_completed_at") is None


def test_run_log_lists_runs_with_their_steps(admin, services, api):
    admin.change("/setup/workflows/new", big_deal_form())
    api.post("/api/v1/records/deal", json={"name": "Huge", "amount": 50000})
    version = services.changes.active().number
    page = admin.get("/setup/workflow-runs/?workflow=big_deal_defaults").get_data(as_text=True)
    runs = re.findall(r'<details class="card ts-card wf-run[^"]*" data-run="[^"]+" data-status="(\w+)"', page)
    assert runs == ["succeeded"]
    assert f"v{version}" in page and " ms" in page
    assert "<code>actions.0</code>" in page and "<code>actions.1.then.0</code>" in page
    assert "<code>probability</code> = 75" in page and "branch:</span> then" in page
    assert "<code>stage</code> = Working" in page
    assert 'data-run=' not in admin.get("/setup/workflow-runs/?status=failed").get_data(as_text=True)
    assert 'data-run=' not in admin.get("/setup/workflow-runs/?object=company").get_data(as_text=True)
    assert admin.get("/setup/workflow-runs/?status=bogus").status_code == 200


def test_failed_runs_show_their_error_and_the_failed_step(admin, services, api):
    form = {"label": "Touch company", "object": "deal", "active": "1", "run_as": "system",
            "trigger.event": "create", "trigger.timing": "after_save", "trigger.when": "always",
            "actions.0.type": "update_parent", "actions.0.lookup": "company",
            "actions.0.values.0.field": "employees", "actions.0.values.0.expr": "-5"}
    admin.change("/setup/workflows/new", form)
    assert md(services).workflows["touch_company"]["actions"] == [
        {"type": "update_parent", "lookup": "company", "values": {"employees": "-5"}}]
    company = api.post("/api/v1/records/company", json={"name": "Acme"}).json
    r = api.post("/api/v1/records/deal", json={"name": "D", "company": company["id"]})
    assert r.status_code == 422 and r.json["error"]["code"] == "workflow_failed"
    page = admin.get("/setup/workflow-runs/?status=failed").get_data(as_text=True)
    assert re.findall(r'data-status="(\w+)"', page) == ["failed"]
    assert "wf-run-error" in page and "touch_company" in page
    assert 'class="ts-row-danger"' in page                      # the failed step, with its error
    assert "error:</span>" in page


def test_expression_check_knows_workflow_values(admin):
    def check(body):
        r = admin.client.post("/setup/objects/deal/check-expression", base_url=BASE,
                              headers={"Referer": f"{BASE}/setup/", "X-CSRFToken": admin.token}, json=body)
        assert r.status_code == 200
        return r.get_json()
    assert check({"expression": "amount * 2", "kind": "value", "target": "deal", "field": "probability"})["ok"]
    bad = check({"expression": "'high'", "kind": "value", "target": "deal", "field": "probability"})
    assert bad["ok"] is False and bad["error"]
    assert check({"expression": "name", "kind": "value", "target": "company", "field": "name"})["ok"]
    assert check({"expression": "1", "kind": "value", "target": "deal", "field": "expected"})["ok"] is False
    assert check({"expression": "ISCHANGED(stage)", "kind": "condition"})["ok"]      # write context
    assert check({"expression": "amount", "kind": "condition"})["ok"] is False       # not a boolean
    assert check(["not", "an", "object"])["ok"] is False


def test_non_admins_get_403(make_browser):
    rep = make_browser("rep1")
    for url in ("/setup/workflows/", "/setup/workflows/new", "/setup/workflows/task_completed_at/",
                "/setup/workflow-runs/"):
        assert rep.get(url).status_code == 403, url
    assert rep.post("/setup/workflows/task_completed_at/active", {"active": "0"}).status_code == 403
    assert rep.post("/setup/workflows/new", big_deal_form()).status_code == 403


def test_unknown_workflows_are_404(admin):
    assert admin.get("/setup/workflows/nope/").status_code == 404
    assert admin.post("/setup/workflows/nope/active", {"active": "0"}).status_code == 404
    assert admin.post("/setup/workflows/nope/delete", {}).status_code == 404
