"""Setup → Automation: the builder for time-relative, scheduled and manual triggers and for the
assign_owner and notify steps (plan → confirm → the stored document), the stock workflows saved
unchanged from the form they render, and the guard: a workflow the form cannot carry is shown
read-only and a POST to it is refused, never saved lossily. Through the setup UI; both databases."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from tessera.web.setup import workflowforms
from tessera.web.setup.orgedit import api_name
from test_setup_workflows import BASE, invalid_inputs, md, org_doc

ROOT = Path(__file__).resolve().parents[2]


def base_form(**overrides) -> dict:
    """What the builder posts (hidden inputs included, as a browser sends them) for a deal workflow."""
    form = {"label": "Closing soon", "name": "", "object": "deal", "description": "", "run_as": "system",
            "active": "1", "trigger.event": "time_relative", "trigger.timing": "after_save",
            "trigger.when": "always", "trigger.condition": "", "trigger.field": "close_date",
            "trigger.direction": "before", "trigger.offset.days": "3", "trigger.offset.hours": "",
            "trigger.offset.minutes": "", "trigger.cron": "",
            "actions.0.type": "notify", "actions.0.label": "", "actions.0.assign": "queue", "actions.0.user": "",
            "actions.0.queue": "", "actions.0.method": "round_robin", "actions.0.busy_filter": "",
            "actions.0.to.0": "owner", "actions.0.notify_queue": "", "actions.0.title": "'Closes soon: ' + name",
            "actions.0.message": "", "actions.0.values.0.field": "", "actions.0.values.0.expr": ""}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def build(admin, services, form):
    before = services.changes.active().number
    _review, done = admin.change("/setup/workflows/new", form)
    assert done.status_code == 302
    assert services.changes.active().number == before + 1
    name = api_name(form["label"])
    return org_doc(services, name)


def test_time_relative_trigger_with_a_notify_step(admin, services):
    doc = build(admin, services, base_form(**{"trigger.condition": "stage != 'Closed'",
                                              "actions.0.to.1": "company.owner",
                                              "actions.0.message": "'Amount: ' + TEXT(amount)"}))
    assert doc == {"name": "closing_soon", "label": "Closing soon", "object": "deal",
                   "trigger": {"event": "time_relative", "condition": "stage != 'Closed'", "field": "close_date",
                               "offset": {"days": -3}},
                   "actions": [{"type": "notify", "to": ["owner", "company.owner"],
                                "title": "'Closes soon: ' + name", "message": "'Amount: ' + TEXT(amount)"}]}
    listing = admin.get("/setup/workflows/").get_data(as_text=True)
    row = listing[listing.index('data-workflow="closing_soon"'):]
    assert "3 days before close_date" in row[:row.index("</tr>")]
    # the builder shows it again as it was built
    page = admin.get("/setup/workflows/closing_soon/").get_data(as_text=True)
    assert 'name="trigger.offset.days" value="3"' in page and 'value="before" selected' in page
    assert 'name="actions.0.to.1" data-key="to" value="company.owner"' in page


def test_scheduled_trigger_with_assign_owner_over_a_queue(admin, services):
    doc = build(admin, services, base_form(**{
        "label": "Weekly sweep", "trigger.event": "scheduled", "trigger.cron": "0 6 * * 1",
        "trigger.condition": "stage == 'New'", "trigger.timing": "before_save",       # hidden: not stored
        "actions.0.type": "assign_owner", "actions.0.queue": "Desk", "actions.0.method": "least_busy",
        "actions.0.busy_filter": "stage != 'Closed'", "actions.0.user": "owner"}))    # hidden user: not stored
    assert doc == {"name": "weekly_sweep", "label": "Weekly sweep", "object": "deal",
                   "trigger": {"event": "scheduled", "condition": "stage == 'New'", "cron": "0 6 * * 1"},
                   "actions": [{"type": "assign_owner", "queue": "Desk", "method": "least_busy",
                                "busy_filter": "stage != 'Closed'"}]}
    listing = admin.get("/setup/workflows/").get_data(as_text=True)
    assert "cron 0 6 * * 1" in listing


def test_manual_trigger_with_assign_owner_to_a_user(admin, services):
    doc = build(admin, services, base_form(**{
        "label": "Give to company owner", "trigger.event": "manual", "trigger.when": "becomes_true",
        "actions.0.type": "assign_owner", "actions.0.assign": "user", "actions.0.user": "company.owner",
        "actions.0.queue": "Ignored"}))
    assert doc == {"name": "give_to_company_owner", "label": "Give to company owner", "object": "deal",
                   "trigger": {"event": "manual"},
                   "actions": [{"type": "assign_owner", "user": "company.owner"}]}
    listing = admin.get("/setup/workflows/").get_data(as_text=True)
    row = listing[listing.index('data-workflow="give_to_company_owner"'):]
    assert "Manual" in row[:row.index("</tr>")]


def test_errors_on_the_new_inputs_are_shown_at_those_inputs(admin, services):
    before = services.changes.active().number

    def bad(**overrides):
        r = admin.post("/setup/workflows/new", base_form(**overrides))
        html = r.get_data(as_text=True)
        assert r.status_code == 422, html[:2000]
        # the inputs marked invalid, and the errors shown under a list of inputs (e.g. the recipients)
        return set(invalid_inputs(html)) | set(re.findall(r'data-error-for="([^"]+)"', html))

    assert set(bad(**{"trigger.field": "", "trigger.offset.days": ""})) == {"trigger.field", "trigger.offset.days"}
    assert set(bad(**{"trigger.field": "name"})) == {"trigger.field"}                 # not a date field
    assert set(bad(**{"trigger.offset.hours": "two"})) == {"trigger.offset.hours"}
    assert set(bad(**{"trigger.offset.days": "4000"})) == {"trigger.offset.days"}     # beyond the schema's bound
    assert set(bad(**{"trigger.event": "scheduled", "trigger.cron": ""})) == {"trigger.cron"}
    assert set(bad(**{"trigger.event": "scheduled", "trigger.cron": "61 * * * *"})) == {"trigger.cron"}
    # a scheduled condition selects records: no PRIORVALUE / ISCHANGED
    assert set(bad(**{"trigger.event": "scheduled", "trigger.cron": "0 6 * * 1",
                      "trigger.condition": "ISCHANGED(stage)"})) == {"trigger.condition"}
    # notify: a recipient that is not a user id (after a blank row), a title that is not text
    assert set(bad(**{"actions.0.to.0": "", "actions.0.to.1": "name"})) == {"actions.0.to.1"}
    assert set(bad(**{"actions.0.title": "amount > 3"})) == {"actions.0.title"}
    assert set(bad(**{"actions.0.to.0": "", "actions.0.title": ""})) == {"actions.0.to", "actions.0.title"}
    assert set(bad(**{"actions.0.message": "amount +"})) == {"actions.0.message"}
    # assign_owner
    assign = {"actions.0.type": "assign_owner"}
    assert set(bad(**assign, **{"actions.0.queue": ""})) == {"actions.0.queue"}
    assert set(bad(**assign, **{"actions.0.assign": "user"})) == {"actions.0.user"}
    assert set(bad(**assign, **{"actions.0.assign": "user", "actions.0.user": "name"})) == {"actions.0.user"}
    assert set(bad(**assign, **{"actions.0.queue": "Desk", "actions.0.method": "least_busy",
                                "actions.0.busy_filter": "amount"})) == {"actions.0.busy_filter"}
    # a before-save record trigger cannot notify: the error is on the step's type
    assert set(bad(**{"trigger.event": "create", "trigger.timing": "before_save"})) == {"actions.0.type"}
    assert services.changes.active().number == before


class _BuilderForm(HTMLParser):
    """The fields the builder page would post as rendered (outside <template>s), like a browser."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.in_form = self.in_template = False
        self.select = self.textarea = None
        self.first_option = None
        self.chosen = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") in ("workflow-form", "approval-form"):   # the approval editor too
            self.in_form = True
        if tag == "template":
            self.in_template = True
        if not self.in_form or self.in_template:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value") or "on"))
            else:
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self.select, self.first_option, self.chosen = a["name"], None, False
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value") or ""
            if "selected" in a and not self.chosen:
                self.fields.append((self.select, a.get("value") or ""))
                self.chosen = True
        elif tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template = False
        elif tag == "form":
            self.in_form = False
        elif tag == "select" and self.select:
            if not self.chosen:
                self.fields.append((self.select, self.first_option or ""))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea[0], self.textarea[1].removeprefix("\n")))
            self.textarea = None


def rendered_form(html: str) -> MultiDict:
    parser = _BuilderForm()
    parser.feed(html)
    return MultiDict([f for f in parser.fields if f[0] != "csrf_token"])



@pytest.mark.parametrize("name", ["lead_assignment", "opportunity_stage_defaults", "opportunity_won_follow_up",
                                  "opportunity_discount_approval", "task_completed_at"])
def test_a_stock_workflow_saved_unchanged_from_its_form_loses_nothing(admin, sales, name):
    before = sales.changes.active().number
    package_doc = dict(md(sales).workflows[name].doc)
    page = admin.get(f"/setup/workflows/{name}/").get_data(as_text=True)
    assert 'id="workflow-form"' in page and "workflow-read-only" not in page
    r = admin.post(f"/setup/workflows/{name}/", rendered_form(page))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]      # "nothing to save"
    assert sales.changes.active().number == before and org_doc(sales, name) is None
    assert dict(md(sales).workflows[name].doc) == package_doc


def test_lead_assignment_shows_its_queue_in_the_builder(admin, sales):
    page = admin.get("/setup/workflows/lead_assignment/").get_data(as_text=True)
    form = rendered_form(page)
    assert form["trigger.event"] == "create" and form["actions.0.type"] == "assign_owner"
    assert form["actions.0.assign"] == "queue" and form["actions.0.queue"] == "Sales Reps"
    assert form["actions.0.method"] == "round_robin"


def _apply(services, name, doc):
    org = services.changes.active().snapshot["org"] or {"manifest": None, "components": {}}
    components = {k: dict(v) for k, v in (org.get("components") or {}).items()}
    components.setdefault("workflows", {})[name] = {"source": f"workflows/{name}.yaml", "doc": {"name": name, **doc}}
    services.changes.apply_org({"manifest": org.get("manifest"), "components": components}, author="test",
                               message=f"store {name}")


def _nested_ifs(depth: int) -> list:
    step = [{"type": "update_record", "values": {"probability": "50"}}]
    for _ in range(depth):
        step = [{"type": "if", "condition": "amount > 1", "then": step}]
    return step


HOSTILE_TITLE = "'<script>alert(1)</script>'"
NOT_REPRESENTABLE = {
    "mixed_offset": {"object": "deal", "trigger": {"event": "time_relative", "field": "close_date",
                                                   "offset": {"days": -1, "hours": 2}},
                     "actions": [{"type": "notify", "to": ["owner"], "title": HOSTILE_TITLE}]},
    "too_deep": {"object": "deal", "trigger": {"event": "create"}, "actions": _nested_ifs(9)},
}


def _refused_read_only(admin, services, name, doc, expect):
    before = services.changes.active().number
    page = admin.get(f"/setup/workflows/{name}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="workflow-read-only"' in html and 'id="workflow-form"' not in html
    assert "tessera export" in html and "tessera apply" in html and expect in html
    assert "<script>alert(1)" not in html                          # the YAML is escaped
    # a POST (the builder's form, or anything) is refused: nothing is saved
    r = admin.post(f"/setup/workflows/{name}/", base_form(**{"label": "Lossy"}))
    assert r.status_code == 409 and 'id="workflow-refused"' in r.get_data(as_text=True)
    assert services.changes.active().number == before and org_doc(services, name) == {"name": name, **doc}
    # activate / deactivate copies the whole document and flips `active`
    admin.change(f"/setup/workflows/{name}/active", {"active": "0"})
    assert org_doc(services, name) == {"name": name, **doc, "active": False}
    admin.change(f"/setup/workflows/{name}/active", {"active": "1"})
    assert org_doc(services, name) == {"name": name, **doc}


@pytest.mark.parametrize("name", sorted(NOT_REPRESENTABLE))
def test_a_workflow_the_form_cannot_carry_is_read_only(admin, services, name):
    doc = NOT_REPRESENTABLE[name]
    _apply(services, name, doc)
    expect = "nested deeper" if name == "too_deep" else "cannot show it exactly"
    _refused_read_only(admin, services, name, doc, expect)


def test_an_action_type_the_builder_does_not_know_is_never_dropped(admin, services, monkeypatch):
    """A step type the schema gains before the builder does: a builder that does not know a stored
    step's type shows the workflow read-only. Simulated by a builder that does not know notify."""
    monkeypatch.setattr(workflowforms, "ACTION_KEYS",
                        {k: v for k, v in workflowforms.ACTION_KEYS.items() if k != "notify"})
    doc = {"object": "deal", "trigger": {"event": "create"},
           "actions": [{"type": "update_record", "values": {"probability": "20"}},
                       {"type": "notify", "to": ["owner"], "title": HOSTILE_TITLE}]}
    _apply(services, "unknown_step", doc)
    _refused_read_only(admin, services, "unknown_step", doc, "&#39;notify&#39; step, which this builder does not know")


def test_expression_check_knows_user_ids_and_text(admin):
    def check(body):
        r = admin.client.post("/setup/objects/deal/check-expression", base_url=BASE,
                              headers={"Referer": f"{BASE}/setup/", "X-CSRFToken": admin.token}, json=body)
        assert r.status_code == 200
        return r.get_json()
    assert check({"expression": "company.owner", "kind": "id"}) == {"ok": True, "type": "id"}
    assert check({"expression": "owner", "kind": "id"})["ok"]
    assert check({"expression": "name", "kind": "id"})["ok"] is False                 # text is not a user id
    assert check({"expression": "'Won: ' + name", "kind": "text"}) == {"ok": True, "type": "text"}
    assert check({"expression": "amount > 3", "kind": "text"})["ok"] is False
    assert check({"expression": "ISCHANGED(stage)", "kind": "filter"})["ok"] is False  # a schedule's condition
