"""In Chromium, desktop and phone (issue 14 §1): a user picks a default currency in Personal settings
and a new opportunity's form starts in it; an admin adds a Rows field in Setup's field editor, whose
child picker lists the object's master-detail children."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in


def _multi_currency(services):
    components = {"settings": {"org": {"source": "settings/org.yaml", "doc": {
        "name": "org", "corporate_currency": "USD", "currencies": [{"code": "USD"}, {"code": "EUR"}, {"code": "JPY"}]}}},
        "objects": {"opportunity": {"source": "objects/opportunity.yaml",
                                    "doc": {"extends": "opportunity", "multi_currency": True}}}}
    services.changes.apply_org({"manifest": None, "components": components}, author="test", message="fx")


def test_default_currency_and_a_rows_field_in_setup(page, live_server, live_services):
    _multi_currency(live_services)
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/settings")
    page.select_option("#default_currency", "EUR")
    with page.expect_navigation():
        page.click("#save-preferences")
    assert page.eval_on_selector("#default_currency", "e => e.value") == "EUR"
    screenshot(page, "settings_default_currency")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "settings_default_currency_phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{live_server}/app/sales/opportunity/new")
    assert page.eval_on_selector("[name=currency_code]", "e => e.value") == "EUR"

    page.goto(f"{live_server}/setup/objects/quote/fields/new?type=rows")
    page.wait_for_load_state("load")
    assert page.is_visible("#rows_relation") and page.is_visible("#max_rows")
    assert not page.is_visible("#rollup_relation")
    options = page.eval_on_selector_all("#rows_relation option", "os => os.map(o => o.value)")
    assert "quote_line_item.quote" in options
    screenshot(page, "setup_rows_field")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "setup_rows_field_phone")
    # back to the corporate currency, for the other tests of this module's server
    page.goto(f"{live_server}/app/settings")
    page.select_option("#default_currency", "")
    with page.expect_navigation():
        page.click("#save-preferences")
