"""Setup → Automation → Email Templates in a real browser: an admin opens the stock case
acknowledgement, previews it on a case (nothing saved or sent), edits the subject, reviews the
plan and confirms. Screenshots at desktop (1280) and phone (390) widths."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in

from tessera.security.actor import SYSTEM


def test_admin_previews_and_edits_an_email_template(page, live_server, live_services):
    base = live_server
    case = live_services.records.create(SYSTEM, "case", {"subject": "Printer <on fire>", "priority": "High"})
    before = live_services.changes.active().number
    sign_in(page, base)
    page.goto(f"{base}/setup/email-templates/")
    assert page.locator("tr[data-template='case_auto_response']").count() == 1
    screenshot(page, "email_templates_list_desktop")
    with page.expect_navigation():
        page.click("tr[data-template='case_auto_response'] a.ts-strong")
    page.fill("#_record", case["id"])
    with page.expect_navigation():
        page.click("#preview-email-template")
    assert "We received your request: Printer <on fire>" in page.inner_text("#preview-subject")
    assert case["case_number"] in page.inner_text("#preview-text")
    screenshot(page, "email_template_preview_desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "email_template_preview_phone")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px on a phone"
    page.set_viewport_size({"width": 1280, "height": 800})
    assert live_services.changes.active().number == before

    page.fill("#subject", "[{{ record.case_number }}] Thanks, we are on it")
    with page.expect_navigation():
        page.click("#save-email-template")
    assert "Confirm and save" in page.content()
    with page.expect_navigation():
        page.click("text=Confirm and save")
    assert live_services.changes.active().number == before + 1
    subject = live_services.runtimes.current().metadata.email_templates["case_auto_response"]["subject"]
    assert subject == "[{{ record.case_number }}] Thanks, we are on it"
