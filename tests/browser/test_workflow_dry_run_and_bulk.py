"""In a real browser: the workflow builder's send_email and webhook cards and "Test on a record" —
an admin adds a copy recipient and a webhook step to the stock case acknowledgement WITHOUT saving,
finds a case by name, tests it and sees the email and the webhook request that would be sent
(nothing is queued, sent or saved); and an end user runs a manual workflow on records chosen in a
list, through the "Run automation" bulk action. Screenshots at desktop (1280×800) and phone
(390×844) widths."""
from __future__ import annotations

from browser_helpers import screenshot as _screenshot, sign_in
from sqlalchemy import func, select

from tessera.automation.credentials import set_credential
from tessera.security.actor import SYSTEM
from tessera.storage.engine import begin_read
from tessera.storage.platform_tables import email_outbox, jobs, webhook_deliveries, workflow_runs


def screenshot(page, name):
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    return _screenshot(page, name)


# a function, not an expression string: the setup pages' CSP forbids eval, which Playwright's polling
# of an expression string needs
PICKED = "(id) => document.querySelector('#dry-run-record').value === id"


def count(services, table) -> int:
    with begin_read(services.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_admin_tests_an_unsaved_email_workflow_on_a_record(page, browser, live_server, live_services):
    base = live_server
    case = live_services.records.create(SYSTEM, "case", {"subject": "Printer on fire", "reason": "Other",
                                                         "supplied_email": "pat@example.com"})
    stored = dict(live_services.runtimes.current().metadata.workflows["case_auto_response"].doc)
    secret, _created = set_credential(live_services.engine, "erp_signing", "webhook_signing")
    before = {t.name: count(live_services, t) for t in (email_outbox, jobs, workflow_runs, webhook_deliveries)}

    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, base)
    page.goto(f"{base}/setup/workflows/case_auto_response/")
    assert page.locator("#workflow-read-only").count() == 0          # a send_email step opens in the builder
    step = page.locator(".wf-root > .wf-actions > .wf-action").nth(0)
    assert step.locator(".wf-template").first.input_value() == "case_auto_response"
    assert step.locator("[name='actions.0.email_to.0']").input_value().startswith("IF(ISBLANK(contact.email)")
    step.locator("[name='actions.0.cc.0']").fill("'lead@example.com'")      # unsaved changes: a cc ...
    page.click(".wf-root > .wf-add-action")                                   # ... and a webhook step
    hook = page.locator(".wf-root > .wf-actions > .wf-action").nth(1)
    hook.locator(".wf-type").first.select_option("webhook")
    hook.locator("[name='actions.1.url']").fill("https://hooks.example.com/cases")
    hook.locator("[name='actions.1.credential']").select_option("erp_signing")
    hook.locator("[name='actions.1.payload']").fill("subject, status")

    page.fill("#dry-run-search", "printer fire")
    page.wait_for_function(PICKED, arg=case["id"], timeout=10000)
    page.click("#dry-run-go")
    page.wait_for_selector("#dry-run-status.alert-success", timeout=15000)
    status = page.inner_text("#dry-run-status")
    assert "It would run." in status and "unsaved" in status and "nothing was saved, queued or sent" in status
    email = page.inner_text(".wf-dry-email")
    assert "pat@example.com" in email and "lead@example.com" in email      # the draft's cc, not the stored doc's
    assert f"[{case['case_number']}] We received your request: Printer on fire" in email
    assert "true" in page.inner_text(".wf-dry-condition")
    request = page.inner_text(".wf-dry-webhook")
    assert "POST https://hooks.example.com/cases" in request and '"subject": "Printer on fire"' in request
    assert '"type": "case.create"' in request and secret not in page.content()
    screenshot(page, "admin_workflow_dry_run")

    # a broken draft: the problem is named by its path, nothing runs
    step.locator("[name='actions.0.cc.0']").fill("ISBLANK(")
    page.click("#dry-run-go")
    page.wait_for_selector("#dry-run-status.alert-danger", timeout=15000)
    assert "actions.0.cc.0" in page.inner_text("#dry-run-status")

    # nothing was saved, queued, sent or logged
    assert {t.name: count(live_services, t) for t in (email_outbox, jobs, workflow_runs, webhook_deliveries)} == before
    assert dict(live_services.runtimes.current().metadata.workflows["case_auto_response"].doc) == stored

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        p2 = phone.new_page()
        sign_in(p2, base)
        p2.goto(f"{base}/setup/workflows/case_auto_response/")
        p2.fill("#dry-run-search", "printer fire")
        p2.wait_for_function(PICKED, arg=case["id"], timeout=10000)
        p2.click("#dry-run-go")
        p2.wait_for_selector("#dry-run-status.alert-success", timeout=15000)
        screenshot(p2, "admin_workflow_dry_run_phone")
    finally:
        phone.close()


MANUAL = {"name": "mark_hot", "label": "Mark as hot", "object": "lead", "trigger": {"event": "manual"},
          "actions": [{"type": "update_record", "values": {"rating": "'Hot'"}}]}


def _add_org_workflow(services, doc):
    org = services.changes.active().snapshot["org"] or {"manifest": None, "components": {}}
    components = {k: dict(v) for k, v in (org.get("components") or {}).items()}
    components.setdefault("workflows", {})[doc["name"]] = {"source": f"workflows/{doc['name']}.yaml", "doc": doc}
    services.changes.apply_org({"manifest": org.get("manifest"), "components": components}, author="test",
                               message="a manual workflow")


def test_a_manual_workflow_runs_from_the_list_bulk_action(page, browser, live_server, live_services):
    base = live_server
    sign_in(page, base)
    leads = [live_services.records.create(SYSTEM, "lead", {"last_name": f"Bulkrun {i}", "company": "Bulk Inc",
                                                            "rating": "Cold"}) for i in range(3)]
    page.goto(f"{base}/app/sales/lead?q=Bulkrun")
    assert page.locator("#bulk-run-open").count() == 0                   # no manual workflow yet: no action
    _add_org_workflow(live_services, MANUAL)
    page.goto(f"{base}/app/sales/lead?q=Bulkrun")
    for lead in leads[:2]:
        page.check(f".row-check[value='{lead['id']}']")
    page.click("#bulk-run-open")
    page.wait_for_selector("#bulk-run-modal.show")
    assert page.eval_on_selector_all("#bulk-workflow option", "os => os.map(o => o.textContent)") == ["Mark as hot"]
    screenshot(page, "end_user_list_run_automation")
    with page.expect_navigation():
        page.click("#bulk-run-confirm")
    assert "“Mark as hot” ran on 2 leads." in page.inner_text("body")
    ratings = [live_services.records.get(SYSTEM, "lead", lead["id"])["rating"] for lead in leads]
    assert ratings == ["Hot", "Hot", "Cold"]
    assert "did not run" not in page.inner_text("body")

