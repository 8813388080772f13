"""In a real browser: (1) an admin builds a workflow with an update_related step point-and-click
(the related records picked from the objects whose lookup points at the account, the filter checked
on the related object) and saving an account updates its contacts; the wait, group and
inbound-webhook cards are shown at desktop and phone widths. (2) A workflow with a wait: the
record page lists the waiting run with its resume time; when a worker resumes it the run shows
succeeded, and a record whose entry condition no longer holds shows its run cancelled. (3) Setup →
Run Log: a failed manual run shows its failing step, and "Retry from failed step" — after the
admin fixed the cause — creates a new run that succeeds."""
from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timezone

from browser_helpers import screenshot as _screenshot, sign_in
from playwright.sync_api import expect
from sqlalchemy import update

from tessera.automation import Worker
from tessera.automation.credentials import set_credential
from tessera.security.actor import SYSTEM
from tessera.storage.engine import begin_write
from tessera.storage.platform_tables import jobs

PHONE = {"width": 390, "height": 844}


def screenshot(page, name):
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    return _screenshot(page, name)


def checked(page, selector, verdict):
    """Wait for the live check under an expression input to say `verdict` (ok | bad)."""
    status = page.locator(selector).locator("xpath=following-sibling::div[contains(@class,'ts-expr-status')][1]")
    expect(status).to_have_class(re.compile(rf"(^|\s){verdict}(\s|$)"), timeout=10000)
    return status.inner_text()


def apply_workflows(services, docs: dict) -> None:
    """Store org workflows through the change pipeline (the builder is what test 1 and tests/setup cover)."""
    org = services.changes.active().snapshot["org"] or {"manifest": None, "components": {}}
    components = {k: dict(v) for k, v in (org.get("components") or {}).items()}
    for name, doc in docs.items():
        components.setdefault("workflows", {})[name] = {"source": f"workflows/{name}.yaml", "doc": {"name": name, **doc}}
    services.changes.apply_org({"manifest": org.get("manifest"), "components": components}, author="test",
                               message="browser test workflows")


def run_due_jobs(services, until, seconds=20.0) -> None:
    """A real worker of this process until `until()` holds."""
    worker = Worker(services, concurrency=1, poll_interval=0.05)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and not until():
            time.sleep(0.1)
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert until(), "the worker did not finish in time"


def make_resume_jobs_due(services) -> None:
    """Time passes: the waits' resume jobs fall due now."""
    with begin_write(services.engine) as conn:
        conn.execute(update(jobs).where(jobs.c.kind == "workflow.resume", jobs.c.status == "ready")
                     .values(run_at=datetime.now(timezone.utc)))


# --------------------------------------------------------------------------- (1) update_related

def test_admin_builds_an_update_related_workflow(page, browser, live_server, live_services):
    base, services = live_server, live_services
    for kind, name in (("group", "Closers"), ("queue", "Triage")):
        if services.records.find_by(SYSTEM, kind, "name", name) is None:
            services.records.create(SYSTEM, kind, {"name": name})
    set_credential(services.engine, "crm_inbound", "webhook_signing")
    sign_in(page, base)
    page.goto(f"{base}/setup/workflows/new")
    page.fill("#label", "Rating to contacts")
    page.select_option("#object", "account")
    page.select_option("#trigger-event", "update")
    page.fill("#trigger-condition", "ISCHANGED(rating)")
    checked(page, "#trigger-condition", "ok")

    step = page.locator(".wf-root > .wf-actions > .wf-action").nth(0)
    step.locator(".wf-type").first.select_option("update_related")
    related = step.locator(".wf-related")
    options = related.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert "contact.account" in options and "opportunity.account" in options
    assert "account.parent" in options and "contact.reports_to" not in options   # only lookups pointing at accounts
    related.select_option("contact.account")
    # the field list follows the related object; the filter is checked on it (contacts have emails, accounts not)
    fields = step.locator(".wf-field").first.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert "last_name" in fields and "rating" not in fields
    step.locator("[data-key=filter]").fill("ISBLANK(industry)")
    checked(page, "[name='actions.0.filter']", "bad")
    step.locator("[data-key=filter]").fill("not ISBLANK(email)")
    checked(page, "[name='actions.0.filter']", "ok")
    step.locator(".wf-field").first.select_option("description")
    step.locator(".wf-value input[data-expression]").first.fill("'Account rating: ' + TEXT(rating)")
    checked(page, "[name='actions.0.values.0.expr']", "ok")
    screenshot(page, "admin_workflow_builder_update_related")

    with page.expect_navigation():
        page.click("#save-workflow")
    page.wait_for_selector("#confirm-change")
    with page.expect_navigation():
        page.click("#confirm-button")
    assert page.locator(".alert-success").count() == 1, page.content()[:2000]
    wf = services.runtimes.current().metadata.workflows["rating_to_contacts"]
    assert [dict(a) for a in wf["actions"]] == [
        {"type": "update_related", "object": "contact", "lookup": "account", "filter": "not ISBLANK(email)",
         "values": {"description": "'Account rating: ' + TEXT(rating)"}}]

    account = services.records.create(SYSTEM, "account", {"name": "Related Corp"})
    with_email = services.records.create(SYSTEM, "contact", {"last_name": "Mailer", "email": "m@example.com",
                                                             "account": account["id"]})
    without = services.records.create(SYSTEM, "contact", {"last_name": "Quiet", "account": account["id"]})
    services.records.update(SYSTEM, "account", account["id"], {"rating": "Hot"})
    assert services.records.get(SYSTEM, "contact", with_email["id"])["description"] == "Account rating: Hot"
    assert services.records.get(SYSTEM, "contact", without["id"])["description"] is None

    # the other new cards, shown (not saved): a wait, assignment over a group, an inbound webhook trigger
    def new_cards(p):
        p.goto(f"{base}/setup/workflows/new?object=account")
        card = p.locator(".wf-root > .wf-actions > .wf-action").nth(0)
        card.locator(".wf-type").first.select_option("wait")
        assert card.locator("[data-key=duration]").is_visible() and not card.locator("[data-key=until]").is_visible()
        card.locator(".wf-wait-mode").select_option("until")
        assert card.locator("[data-key=until]").is_visible() and not card.locator("[data-key=duration]").is_visible()
        card.locator("[data-key=until]").fill("ADD_DAYS(TODAY(), 3)")
        p.click(".wf-root > .wf-add-action")
        second = p.locator(".wf-root > .wf-actions > .wf-action").nth(1)
        second.locator(".wf-type").first.select_option("assign_owner")
        second.locator(".wf-assign").select_option("group")
        assert second.locator("[data-key=group]").is_visible() and not second.locator("[data-key=queue]").is_visible()
        second.locator("[data-key=group]").select_option("Closers")
        second.locator(".wf-method").select_option("least_busy")
        return card

    card = new_cards(page)
    checked(page, "[name='actions.0.until']", "ok")
    card.locator("[data-key=until]").fill("name")
    assert "date" in checked(page, "[name='actions.0.until']", "bad")
    card.locator("[data-key=until]").fill("ADD_DAYS(TODAY(), 3)")
    checked(page, "[name='actions.0.until']", "ok")
    screenshot(page, "admin_workflow_builder_wait_and_group")
    phone = browser.new_context(viewport=PHONE)
    try:
        p2 = phone.new_page()
        sign_in(p2, base)
        new_cards(p2)
        screenshot(p2, "admin_workflow_builder_wait_and_group_phone")
        p2.select_option("#trigger-event", "inbound_webhook")
        assert p2.is_visible("#trigger-secret") and not p2.is_visible("#trigger-condition")
        p2.select_option("#trigger-secret", "crm_inbound")
        p2.fill("#trigger-user", "admin")
        p2.fill("[name='trigger.payload.0.key']", "company")
        p2.click("[data-wf-add-payload]")
        p2.fill("[name='trigger.payload.1.key']", "employees")
        p2.select_option("[name='trigger.payload.1.type']", "integer")
        screenshot(p2, "admin_workflow_builder_inbound_phone")
    finally:
        phone.close()
    page.select_option("#trigger-event", "inbound_webhook")
    page.select_option("#trigger-secret", "crm_inbound")
    page.fill("#trigger-user", "admin")
    # its steps' expressions are checked against the declared keys of the body, not a record
    card.locator(".wf-type").first.select_option("create_record")
    card.locator(".wf-object").select_option("account")
    card.locator(".wf-field").first.select_option("name")
    card.locator(".wf-value input[data-expression]").first.fill("payload.company")
    assert "payload" in checked(page, "[name='actions.0.values.0.expr']", "bad")
    page.fill("[name='trigger.payload.0.key']", "company")
    page.locator("[name='trigger.payload.0.key']").dispatch_event("change")
    checked(page, "[name='actions.0.values.0.expr']", "ok")
    screenshot(page, "admin_workflow_builder_inbound")


# --------------------------------------------------------------------------- (2) a wait on the record page

def test_the_record_page_shows_a_waiting_run_then_its_outcome(page, live_server, live_services):
    base, services = live_server, live_services
    apply_workflows(services, {"nudge_later": {
        "label": "Nudge later", "object": "account", "trigger": {"event": "create", "condition": "rating != 'Cold'"},
        "actions": [{"type": "wait", "duration": "2h"},
                    {"type": "update_record", "values": {"description": "'Nudged'"}}]}})
    kept = services.records.create(SYSTEM, "account", {"name": "Waiting Kept", "rating": "Hot"})
    cooled = services.records.create(SYSTEM, "account", {"name": "Waiting Cooled", "rating": "Warm"})
    sign_in(page, base)

    def record_page(rec):
        page.goto(f"{base}/app/sales/account/{rec['id']}")
        return page.locator("#automation-runs")

    panel = record_page(kept)
    scheduled = panel.locator("#automation-scheduled li[data-workflow=nudge_later]")
    expect(scheduled).to_contain_text("Nudge later (continues after a wait)")
    resume_at = scheduled.locator("time").get_attribute("datetime")
    started = panel.locator("tr[data-workflow=nudge_later] td time").first.get_attribute("datetime")
    hours = (datetime.fromisoformat(resume_at.replace("Z", "+00:00"))
             - datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds() / 3600
    assert 1.99 < hours < 2.01, (started, resume_at)
    expect(panel.locator("tr[data-workflow=nudge_later] .run-waiting")).to_contain_text("waiting until")
    screenshot(page, "record_page_waiting_run")
    phone = page.context.browser.new_context(viewport=PHONE)
    try:
        p2 = phone.new_page()
        sign_in(p2, base)
        p2.goto(f"{base}/app/sales/account/{kept['id']}")
        p2.locator("#automation-runs").scroll_into_view_if_needed()
        _screenshot(p2, "record_page_waiting_run_phone")
    finally:
        phone.close()

    # meanwhile one account cools down: its run is cancelled when the wait ends (the condition is re-checked)
    services.records.update(SYSTEM, "account", cooled["id"], {"rating": "Cold"})
    make_resume_jobs_due(services)

    def settled():
        from tessera.automation import runlog
        return all(r["status"] != "waiting" for r in runlog.runs(services.engine, workflow="nudge_later", limit=10))
    run_due_jobs(services, settled)

    panel = record_page(kept)
    expect(panel.locator("tr[data-workflow=nudge_later]")).to_contain_text("succeeded")
    expect(panel.locator("#automation-scheduled li[data-workflow=nudge_later]")).to_have_count(0)
    assert services.records.get(SYSTEM, "account", kept["id"])["description"] == "Nudged"
    panel = record_page(cooled)
    outcome = panel.locator("tr[data-workflow=nudge_later] td").nth(3)
    expect(outcome).to_contain_text("cancelled")
    assert "condition" in (outcome.locator("span").get_attribute("title") or "")
    expect(panel.locator("#automation-scheduled li[data-workflow=nudge_later]")).to_have_count(0)
    assert services.records.get(SYSTEM, "account", cooled["id"])["description"] is None
    screenshot(page, "record_page_cancelled_run")


# --------------------------------------------------------------------------- (3) retry from the Run Log

def _tidy(description_expression):
    return {"tidy_up": {"label": "Tidy up", "object": "account", "trigger": {"event": "manual"},
                        "actions": [{"type": "update_record", "label": "Mark", "values": {"rating": "'Warm'"}},
                                    {"type": "create_record", "label": "Follow-up task", "object": "account",
                                     "values": {"name": description_expression}}]}}


def test_run_log_retries_a_failed_run_from_its_failed_step(page, live_server, live_services):
    base, services = live_server, live_services
    apply_workflows(services, _tidy("''"))                      # a new account without a name: refused
    account = services.records.create(SYSTEM, "account", {"name": "Retry Corp"})
    sign_in(page, base)
    page.goto(f"{base}/app/sales/account/{account['id']}")
    page.click("#run-workflow button.dropdown-toggle")
    with page.expect_navigation():
        page.click("#run-workflow [data-workflow=tidy_up]")
    expect(page.locator(".alert-danger")).to_contain_text("failed")
    assert services.records.get(SYSTEM, "account", account["id"])["rating"] == "Warm"   # the step before it stayed

    page.goto(f"{base}/setup/workflow-runs/?workflow=tidy_up&status=failed")
    failed = page.locator("details.wf-run[data-status=failed]")
    expect(failed).to_have_count(1)
    failed.locator("summary").click()
    failed_at = failed.locator("dt", has_text="Failed at").locator("xpath=following-sibling::dd[1]")
    expect(failed_at).to_have_text("actions.1")                                          # where it failed
    expect(failed.locator(".wf-run-error")).to_be_visible()
    expect(failed.locator("tr.ts-row-danger")).to_contain_text("Follow-up task")
    screenshot(page, "admin_run_log_failed_run")

    apply_workflows(services, _tidy("'Follow-up for ' + name"))   # the admin fixes the cause
    page.goto(f"{base}/setup/workflow-runs/?workflow=tidy_up")
    failed = page.locator("details.wf-run[data-status=failed]")
    failed.locator("summary").click()
    with page.expect_navigation():
        failed.locator(".wf-retry-form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("Retried from the failed step")
    runs = page.locator("details.wf-run")
    expect(runs.first).to_have_attribute("data-status", "succeeded")
    expect(runs.first.locator(".wf-retry")).to_be_visible()
    expect(page.locator("details.wf-run[data-status=failed] .wf-retry-form")).to_have_count(0)   # retried once
    assert services.records.find_by(SYSTEM, "account", "name", "Follow-up for Retry Corp") is not None
    runs.first.locator("summary").click()
    screenshot(page, "admin_run_log_retried_run")
