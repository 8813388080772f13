"""Copy-on-select in the generated form (headless Chromium): on a new contact, picking an account
fills the mailing address from the account's billing address (the stock Sales app's copy_from
fields) before saving, leaves a value the user typed alone, and the save keeps what the form shows."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in
from playwright.sync_api import expect
from tessera.security.actor import SYSTEM


def pick_lookup(page, input_id: str, text: str, choice: str):
    """Choose in a Select2 type-ahead once the results of `text` are shown (clicking a result of
    the initial, unfiltered list can hit an element that the filtered list then replaces)."""
    page.click(f"#s2id_{input_id} a.select2-choice")
    with page.expect_response(lambda response: f"q={text}" in response.url):
        page.fill(".select2-drop-active .select2-input", text)
    page.wait_for_selector(".select2-drop-active .select2-searching", state="detached")
    page.click(f".select2-drop-active .select2-result-selectable:has-text('{choice}')")
    # expect() polls from Playwright's own script: a string predicate would need eval, which the
    # page's CSP (script-src 'self') refuses once the first check is false
    expect(page.locator(f"#{input_id}")).not_to_have_value("")


def test_picking_an_account_fills_the_mailing_address(page, live_server, live_services):
    records = live_services.records
    account = records.create(SYSTEM, "account", {
        "name": "Copper Kettle Ltd", "billing_street": "1 Quay St", "billing_city": "Galway",
        "billing_postal_code": "H91", "billing_country": "Ireland"})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/contact/new")
    page.fill("#f-last_name", "Byrne")
    page.fill("#f-mailing_country", "Éire")                   # typed by the user: kept
    pick_lookup(page, "f-account", "copper", "Copper Kettle Ltd")
    expect(page.locator("#f-mailing_city")).to_have_value("Galway")
    assert page.input_value("#f-mailing_street") == "1 Quay St"
    assert page.input_value("#f-mailing_postal_code") == "H91"
    assert page.input_value("#f-mailing_country") == "Éire"
    screenshot(page, "contact_copy_on_select")
    page.click("#save")
    page.wait_for_selector("#record-title")
    contact = records.get(SYSTEM, "contact", page.url.rsplit("/", 1)[1])
    assert contact["account"] == account["id"]
    assert (contact["mailing_city"], contact["mailing_country"]) == ("Galway", "Éire")
