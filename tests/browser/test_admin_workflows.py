"""Setup → Automation in a real browser: an admin builds a workflow point-and-click — a trigger
with a condition checked as they type, a step that sets a field, an if/else step with a nested
step, moved up — reviews the plan, confirms, and the next record saved shows its effect; then the
run log shows the run and its steps. Screenshots at desktop (1280) and phone (390) widths.
"""
from __future__ import annotations

from datetime import date

from browser_helpers import screenshot as _screenshot, sign_in

from tessera.security.actor import SYSTEM


def screenshot(page, name):
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    return _screenshot(page, name)


def checked(page, selector, verdict):
    """Wait for the live check under an expression input to say `verdict` (ok | bad); its text."""
    status = page.locator(selector).locator("xpath=following-sibling::div[contains(@class,'ts-expr-status')][1]")
    page.wait_for_function("([el, v]) => el.classList.contains(v)", arg=[status.element_handle(), verdict],
                           timeout=10000)
    return status.inner_text()


def test_admin_builds_a_workflow_point_and_click(page, browser, live_server, live_services):
    base = live_server
    sign_in(page, base)
    page.goto(f"{base}/setup/")
    with page.expect_navigation():
        page.click("#home-workflows")
    with page.expect_navigation():
        page.click("#new-workflow")

    page.fill("#label", "Big opportunity")
    assert page.input_value("#name") == "big_opportunity"
    page.select_option("#object", "opportunity")
    page.select_option("#trigger-event", "create")
    page.select_option("#trigger-timing", "before_save")
    page.fill("#trigger-condition", "amount > 'lots'")
    assert "text" in checked(page, "#trigger-condition", "bad")
    page.fill("#trigger-condition", "amount > 100000")
    assert checked(page, "#trigger-condition", "ok") == "\u2714 Valid (boolean)"

    # step 1: set Next Step (the field list follows the chosen object)
    first = page.locator(".wf-root > .wf-actions > .wf-action").nth(0)
    first.locator(".wf-field").first.select_option("next_step")
    expr = first.locator(".wf-value input[data-expression]").first
    expr.fill("'Call the VP'")
    checked(page, f"[name='{expr.get_attribute('name')}']", "ok")

    # step 2: if amount > 1,000,000 then set the description
    page.click(".wf-root > .wf-add-action")
    second = page.locator(".wf-root > .wf-actions > .wf-action").nth(1)
    second.locator(".wf-type").first.select_option("if")
    second.locator("textarea[data-key=condition]").first.fill("amount > 1000000")
    second.locator(".wf-branch").first.locator(".wf-add-action").click()
    nested = second.locator(".wf-branch").first.locator(".wf-action").first
    nested.locator(".wf-field").first.select_option("description")
    nested.locator(".wf-value input[data-expression]").first.fill("'Strategic deal'")
    assert nested.locator(".wf-field").first.get_attribute("name") == "actions.1.then.0.values.0.field"

    # move the `if` up: the inputs are renamed after their new place
    second.locator("[data-wf-move=up]").first.click()
    if_card = page.locator(".wf-root > .wf-actions > .wf-action").nth(0)
    assert if_card.locator(".wf-type").first.get_attribute("name") == "actions.0.type"
    assert if_card.locator(".wf-branch .wf-field").first.get_attribute("name") == "actions.0.then.0.values.0.field"
    checked(page, "[name='actions.0.then.0.values.0.expr']", "ok")
    screenshot(page, "admin_workflow_builder")

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        p2 = phone.new_page()
        sign_in(p2, base)
        p2.goto(f"{base}/setup/workflows/opportunity_stage_defaults/")
        screenshot(p2, "admin_workflow_builder_phone")
    finally:
        phone.close()

    with page.expect_navigation():
        page.click("#save-workflow")
    page.wait_for_selector("#confirm-change")
    assert "big_opportunity" in page.inner_text(".ts-plan")
    with page.expect_navigation():
        page.click("#confirm-button")
    assert page.locator(".alert-success").count() == 1, page.content()[:2000]
    wf = live_services.runtimes.current().metadata.workflows["big_opportunity"]
    assert [a["type"] for a in wf["actions"]] == ["if", "update_record"]

    opp = live_services.records.create(SYSTEM, "opportunity", {"name": "Mega", "amount": 2_000_000,
                                                               "close_date": date.today().isoformat()})
    assert opp["next_step"] == "Call the VP" and opp["description"] == "Strategic deal"

    page.goto(f"{base}/setup/workflow-runs/")
    page.select_option("#f-workflow", "big_opportunity")
    with page.expect_navigation():
        page.click("#run-filters button[type=submit]")
    runs = page.locator("details.wf-run")
    assert runs.count() == 1
    runs.first.locator("summary").click()
    assert "actions.0.then.0" in runs.first.inner_text() and "Strategic deal" in runs.first.inner_text()
    screenshot(page, "admin_workflow_run_log")
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        p2 = phone.new_page()
        sign_in(p2, base)
        p2.goto(f"{base}/setup/workflow-runs/")
        p2.locator("details.wf-run summary").first.click()
        screenshot(p2, "admin_workflow_run_log_phone")
        p2.goto(f"{base}/setup/workflows/")
        screenshot(p2, "admin_workflows_phone")
    finally:
        phone.close()


def test_admin_builds_a_time_relative_workflow_with_a_notify_step(page, browser, live_server, live_services):
    base = live_server
    if live_services.records.find_by(SYSTEM, "queue", "name", "Sales Reps") is None:
        live_services.records.create(SYSTEM, "queue", {"name": "Sales Reps"})
    sign_in(page, base)
    page.goto(f"{base}/setup/workflows/new")
    page.fill("#label", "Closing soon")
    page.select_option("#object", "opportunity")
    assert page.is_visible("#trigger-timing") and not page.is_visible("#trigger-offset-days")
    page.select_option("#trigger-event", "time_relative")
    # the offset inputs and the date field appear; timing and re-evaluation do not apply
    assert page.is_visible("#trigger-offset-days") and page.is_visible("#trigger-direction")
    assert not page.is_visible("#trigger-timing") and not page.is_visible("#trigger-when")
    dates = page.eval_on_selector_all("#trigger-field option", "os => os.map(o => o.value)")
    assert "close_date" in dates and "created_at" in dates and "name" not in dates
    page.select_option("#trigger-field", "close_date")
    page.fill("#trigger-offset-days", "3")
    page.select_option("#trigger-direction", "before")
    page.fill("#trigger-condition", "not is_closed")
    checked(page, "#trigger-condition", "ok")

    step = page.locator(".wf-root > .wf-actions > .wf-action").nth(0)
    step.locator(".wf-type").first.select_option("notify")
    assert step.locator(".wf-values-block").count() == 2   # set on every save; set on create (upsert)
    assert not any(block.is_visible() for block in step.locator(".wf-values-block").all())
    step.locator("[name='actions.0.to.0']").fill("name")
    assert "id" in checked(page, "[name='actions.0.to.0']", "bad")
    step.locator("[name='actions.0.to.0']").fill("owner")
    checked(page, "[name='actions.0.to.0']", "ok")
    step.locator("[data-wf-add-to=to]").click()
    page.fill("[name='actions.0.to.1']", "account.owner")
    checked(page, "[name='actions.0.to.1']", "ok")
    page.fill("[name='actions.0.title']", "'Closes in 3 days: ' + name")
    assert checked(page, "[name='actions.0.title']", "ok") == "\u2714 Valid (text)"

    # a second step: assign the owner over a queue, least busy (its filter appears with the method)
    page.click(".wf-root > .wf-add-action")
    second = page.locator(".wf-root > .wf-actions > .wf-action").nth(1)
    second.locator(".wf-type").first.select_option("assign_owner")
    assert second.locator("[data-key=queue]").is_visible() and not second.locator("[data-key=user]").is_visible()
    assert not second.locator("[data-key=busy_filter]").is_visible()
    second.locator("[data-key=queue]").select_option("Sales Reps")   # the queues stored in the org
    second.locator(".wf-method").select_option("least_busy")
    second.locator("[data-key=busy_filter]").fill("not is_closed")
    checked(page, "[name='actions.1.busy_filter']", "ok")
    screenshot(page, "admin_workflow_builder_time_relative")

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        p2 = phone.new_page()
        sign_in(p2, base)
        p2.goto(f"{base}/setup/workflows/new?object=opportunity")
        p2.select_option("#trigger-event", "time_relative")
        p2.locator(".wf-root .wf-type").first.select_option("notify")
        screenshot(p2, "admin_workflow_builder_time_relative_phone")
    finally:
        phone.close()

    with page.expect_navigation():
        page.click("#save-workflow")
    page.wait_for_selector("#confirm-change")
    with page.expect_navigation():
        page.click("#confirm-button")
    assert page.locator(".alert-success").count() == 1, page.content()[:2000]
    wf = live_services.runtimes.current().metadata.workflows["closing_soon"]
    assert dict(wf["trigger"]) == {"event": "time_relative", "condition": "not is_closed", "field": "close_date",
                                   "offset": {"days": -3}}
    assert [dict(a) for a in wf["actions"]] == [
        {"type": "notify", "to": ["owner", "account.owner"], "title": "'Closes in 3 days: ' + name"},
        {"type": "assign_owner", "queue": "Sales Reps", "method": "least_busy", "busy_filter": "not is_closed"}]
    assert "3 days before close_date" in page.inner_text("#workflow-table")
