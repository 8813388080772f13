"""The list's Filter (issue 15 §3: the report builder's condition builder, for end-user list views):
point-and-click conditions write an expression, Apply narrows the list, the condition is kept in a
saved view. Chromium, desktop and phone-sized. Screenshots: tests/artifacts/screenshots/list_filter*."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import screenshot, sign_in
import test_list_figures_browser

deals = test_list_figures_browser.deals     # the same opportunities (a module-scoped fixture)

@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_conditions_build_the_lists_filter_and_a_saved_view_keeps_it(browser, live_server, deals, viewport):
    size = {"width": 390, "height": 844} if viewport == "phone" else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=size)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/opportunity")
    page.wait_for_load_state("load")
    page.click("#where-open")
    modal = page.locator("#where-modal")
    expect(modal).to_be_visible()
    modal.locator("[data-condition=field]").select_option("amount")
    modal.locator("[data-condition=op]").select_option(">=")
    modal.locator("[data-condition=value]").fill("40000")
    page.click("#where-add")
    modal.locator("[data-condition=field]").select_option("stage")
    modal.locator("[data-condition=op]").select_option("==")
    modal.locator("[data-condition=choice]").select_option("Negotiation")
    page.click("#where-add")
    expect(page.locator("#where-text")).to_have_value("(amount >= 40000) and stage == 'Negotiation'")
    screenshot(page, f"list_filter_{viewport}")
    page.click("#where-apply")
    expect(page).to_have_url(re.compile(r"where=%28amount"))
    expect(page.locator("#where-chip")).to_contain_text("stage == 'Negotiation'")
    for name in ("Contoso platform", "Litware expansion"):
        expect(page.get_by_role("link", name=name).first).to_be_visible()
    for name in ("Fabrikam pilot", "Tailspin renewal"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    # a bad typed expression is refused with the reason, not a 500
    page.wait_for_load_state("load")
    page.click("#where-open")
    page.fill("#where-text", "amount >")
    page.click("#where-apply")
    expect(page.locator(".alert-warning")).to_contain_text("This view could not be shown")
    page.goto(f"{live_server}/app/sales/opportunity?where=amount+%3E%3D+40000")
    page.wait_for_load_state("load")
    # saved as my view, the condition comes back with it
    page.click("#list-settings")
    page.click("#save-view-open")
    page.fill("#save-view-name", f"Big deals {viewport}")
    page.click("#save-view-submit")
    expect(page).to_have_url(re.compile(r"saved="))
    expect(page.locator("#where-chip")).to_contain_text("amount >= 40000")
    expect(page.get_by_role("link", name="Fabrikam pilot")).to_have_count(0)
    expect(page.get_by_role("link", name="Tailspin renewal").first).to_be_visible()
    context.close()
