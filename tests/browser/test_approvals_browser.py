"""Approvals in a real browser (Chromium): an admin builds an approval process point and click in
Setup (entry condition checked as they type, steps with approvers, a final action), reviews the
plan and confirms; then the stock Sales approval runs end to end — a rep raises a discount above
20 %, the opportunity is submitted and locked (no edit controls for them), the sales manager finds
it in Items to approve and approves it with a comment, and the record page shows the history.
Screenshots at desktop (1280) and phone (390) widths.
"""
from __future__ import annotations

from datetime import date

from browser_helpers import screenshot as _screenshot, sign_in

from tessera.security.actor import SYSTEM

PASSWORD = "Tq7-violet-harbor-92"


def screenshot(page, name):
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    return _screenshot(page, name)


def checked(page, selector, verdict):
    status = page.locator(selector).locator("xpath=following-sibling::div[contains(@class,'ts-expr-status')][1]")
    page.wait_for_function("([el, v]) => el.classList.contains(v)", arg=[status.element_handle(), verdict],
                           timeout=10000)
    return status.inner_text()


def _people(services):
    if services.identity.find_user("sam") is None:
        services.identity.create_user("sam", password=PASSWORD, first_name="Sam", last_name="Manager",
                                      profile="sales_manager", role="sales_manager")
        manager = services.identity.find_user("sam")
        services.identity.create_user("rita", password=PASSWORD, first_name="Rita", last_name="Rep",
                                      profile="sales_rep", role="sales_rep", manager=manager["id"])
    return services.identity.find_user("sam"), services.identity.find_user("rita")


def test_admin_builds_an_approval_process_point_and_click(page, live_server, live_services):
    base = live_server
    _people(live_services)
    sign_in(page, base)
    page.goto(f"{base}/setup/approval-processes/")
    assert "opportunity_discount" in page.inner_text("#approval-process-table")   # the stock one
    with page.expect_navigation():
        page.click("#new-approval-process")
    page.fill("#label", "Huge deal review")
    assert page.input_value("#name") == "huge_deal_review"
    page.select_option("#object", "opportunity")
    page.fill("#entry_condition", "amount > 'lots'")
    checked(page, "#entry_condition", "bad")
    page.fill("#entry_condition", "amount > 500000")
    assert checked(page, "#entry_condition", "ok") == "\u2714 Valid (boolean)"

    # step 1: the submitter's manager (the default) and the user sam; every approver must approve
    first = page.locator(".ap-steps > .ap-step").nth(0)
    first.locator("[data-key=label]").fill("Manager")
    assert not first.locator(".ap-value").first.is_visible()          # the manager needs no value
    first.locator("[data-ap-add-approver]").click()
    row = first.locator(".ap-approver").nth(1)
    row.locator(".ap-type").select_option("user")
    row.locator(".ap-value").fill("sam")
    assert row.locator(".ap-value").get_attribute("name") == "steps.0.approvers.1.value"
    first.locator("[data-key=decision]").select_option("unanimous")
    # step 2: users holding the VP of Sales role, only for the very largest deals
    page.click("#add-approval-step")
    second = page.locator(".ap-steps > .ap-step").nth(1)
    second.locator("[data-key=label]").fill("VP")
    second.locator(".ap-type").first.select_option("role")
    second.locator(".ap-value").first.fill("vp_sales")
    second.locator("[data-key=when_no_approver]").select_option("skip")
    second.locator("[data-key=entry_condition]").fill("amount > 5000000")
    checked(page, "[name='steps.1.entry_condition']", "ok")
    # moved up and back: the inputs follow their place
    second.locator("[data-ap-move=up]").click()
    assert page.locator(".ap-steps > .ap-step").nth(0).locator("[data-key=label]").get_attribute("name") == "steps.0.label"
    assert page.locator(".ap-steps > .ap-step").nth(0).locator("[data-key=label]").input_value() == "VP"
    page.locator(".ap-steps > .ap-step").nth(0).locator("[data-ap-move=down]").click()
    # a final action: approved deals get their next step
    approve = page.locator("[data-final=on_approve]")
    approve.locator(".wf-add-action").click()
    card = approve.locator(".wf-action").first
    assert card.locator(".wf-type").get_attribute("name") == "on_approve.0.type"
    card.locator(".wf-field").first.select_option("next_step")
    card.locator(".wf-value input[data-expression]").first.fill("'Approved by leadership'")
    checked(page, "[name='on_approve.0.values.0.expr']", "ok")
    screenshot(page, "admin_approval_process_editor")

    with page.expect_navigation():
        page.click("#save-approval-process")
    page.wait_for_selector("#confirm-change")
    assert "huge_deal_review" in page.inner_text(".ts-plan")
    with page.expect_navigation():
        page.click("#confirm-button")
    assert page.locator(".alert-success").count() == 1, page.content()[:2000]
    doc = live_services.runtimes.current().metadata.approval_processes["huge_deal_review"]
    assert [dict(step) for step in doc["steps"]] == [
        {"label": "Manager", "approvers": [{"type": "manager"}, {"type": "user", "user": "sam"}], "decision": "unanimous"},
        {"label": "VP", "entry_condition": "amount > 5000000", "approvers": [{"type": "role", "role": "vp_sales"}],
         "when_no_approver": "skip"}]
    assert [dict(a) for a in doc["on_approve"]] == [{"type": "update_record",
                                                     "values": {"next_step": "'Approved by leadership'"}}]
    screenshot(page, "admin_approval_processes")


def test_a_discount_is_submitted_locked_and_approved(page, browser, live_server, live_services):
    base = live_server
    manager, rep = _people(live_services)
    rep_actor = live_services.identity.actor_for_user(rep)
    opp = live_services.records.create(rep_actor, "opportunity", {"name": "Initech renewal", "amount": 80000,
                                                                 "close_date": date.today().isoformat()})
    url = f"{base}/app/sales/opportunity/{opp['id']}"

    # the rep raises the discount: saving submits the opportunity and locks it for them
    sign_in(page, base, "rita", PASSWORD)
    page.goto(f"{url}/edit")
    page.fill("[name=discount_percent]", "30")
    with page.expect_navigation():
        page.click("#save")
    assert page.is_visible("#locked-badge")
    assert page.locator("#edit-record").count() == 0 and page.locator(".js-inline-edit").count() == 0
    card = page.locator("#approval")
    assert "Pending" in card.inner_text() and "Sam Manager" in page.inner_text("#approval-approvers")
    assert page.locator("#recall-button").count() == 1 and page.locator("#approve-button").count() == 0
    screenshot(page, "approval_pending_for_the_submitter")

    # the manager: the header counts it, Items to approve lists it, they approve with a comment
    manager_context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        mp = manager_context.new_page()
        sign_in(mp, base, "sam", PASSWORD)
        mp.goto(f"{base}/app/sales")
        assert "1 waiting" in mp.get_attribute("#items-to-approve", "aria-label")
        with mp.expect_navigation():
            mp.click("#items-to-approve")
        item = mp.locator(".approval-item").first
        assert "Initech renewal" in item.inner_text() and "Rita Rep" in item.inner_text()
        screenshot(mp, "approval_items_to_approve")
        item.locator("input[name=comment]").fill("30 % is fine for a renewal")
        with mp.expect_navigation():
            item.locator("[data-decision=approve]").click()
        assert "Approved" in mp.inner_text(".alert-success")
        assert mp.is_visible("#nothing-to-approve")
    finally:
        manager_context.close()

    # the rep: unlocked, the history shows the decision and its comment
    page.goto(url)
    assert not page.is_visible("#locked-badge") and page.is_visible("#edit-record")
    history = page.inner_text("#approval-history")
    assert "30 % is fine for a renewal" in history and "approved" in history and "submitted" in history
    assert live_services.records.get(SYSTEM, "opportunity", opp["id"])["discount_percent"] == 30
    screenshot(page, "approval_history_on_the_record")
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        p2 = phone.new_page()
        sign_in(p2, base, "rita", PASSWORD)
        p2.goto(url)
        p2.locator("#approval").scroll_into_view_if_needed()
        screenshot(p2, "approval_history_phone")
    finally:
        phone.close()
