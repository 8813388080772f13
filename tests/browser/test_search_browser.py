"""Global search in Chromium (issue 16 §3): the top bar's search box suggests records after 2
characters (found by any searchable field: here a contact's email), the keyboard moves through the
suggestions and Enter opens one, a click opens one, Escape closes them, and the empty box shows
recent items. On a desktop and a phone-sized screen; screenshots in tests/artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import screenshot, sign_in
from tessera.security.actor import SYSTEM


@pytest.fixture(scope="module")
def found(live_services):
    records = live_services.records
    account = records.create(SYSTEM, "account", {"name": "Zephyr Logistics"})
    contact = records.create(SYSTEM, "contact", {"first_name": "Nadia", "last_name": "Okafor",
                                                 "email": "nadia@zephyr-freight.example", "account": account["id"]})
    return {"account": account, "contact": contact}


def _suggest(page, text):
    box = page.locator(".global-search input[name=q]")
    box.click()
    box.fill("")
    box.type(text, delay=40)
    expect(page.locator("#search-suggest .suggest-item").first).to_be_visible()
    return box


def test_suggestions_keyboard_and_click(page, live_server, found):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales")
    box = page.locator(".global-search input[name=q]")

    box.type("z", delay=40)                                   # one character: nothing yet
    page.wait_for_timeout(400)
    expect(page.locator("#search-suggest")).to_be_hidden()

    _suggest(page, "zephyr")
    items = page.locator("#search-suggest .suggest-item")
    expect(items.filter(has_text="Zephyr Logistics")).to_have_count(1)
    contact_item = items.filter(has_text="nadia@zephyr-freight.example")   # found by its email, shown
    expect(contact_item).to_have_count(1)
    expect(page.locator("#search-suggest .suggest-all")).to_contain_text("zephyr")
    screenshot(page, "search_suggestions_desktop")

    box.press("Escape")
    expect(page.locator("#search-suggest")).to_be_hidden()

    # keyboard: down to the contact, Enter opens it
    _suggest(page, "zephyr fr")
    expect(items).to_have_count(1)
    box.press("ArrowDown")
    expect(items.first).to_have_class(re.compile(r"\bactive\b"))
    box.press("Enter")
    page.wait_for_url(re.compile(rf"/contact/{found['contact']['id']}$"))

    # a click opens the account
    _suggest(page, "zeph log")
    page.locator("#search-suggest .suggest-item", has_text="Zephyr Logistics").click()
    page.wait_for_url(re.compile(rf"/account/{found['account']['id']}$"))

    # Enter without a highlighted suggestion: the results page, grouped, the matched field shown
    _suggest(page, "nadia@zephyr")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/app/search\?"))
    expect(page.locator('.search-group[data-object="contact"] .search-hit')).to_have_count(1)
    expect(page.locator(".search-match")).to_have_text(["Email: nadia@zephyr-freight.example"])   # not the first name: in the name
    screenshot(page, "search_results_desktop")

    # the empty box, focused: recent items
    page.goto(f"{live_server}/app/sales")
    page.locator(".global-search input[name=q]").click()
    expect(page.locator("#search-suggest .suggest-header")).to_have_text(re.compile("Recent items", re.I))
    expect(page.locator("#search-suggest .suggest-item").first).to_be_visible()


def test_suggestions_on_a_phone(browser, live_server, found):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.goto(f"{live_server}/app/sales")
        _suggest(page, "zephyr")
        menu = page.locator("#search-suggest").bounding_box()
        assert menu["x"] >= 0 and menu["x"] + menu["width"] <= 390 and menu["width"] >= 300
        screenshot(page, "search_suggestions_phone")
        page.locator("#search-suggest .suggest-item", has_text="Zephyr Logistics").tap()
        page.wait_for_url(re.compile(rf"/account/{found['account']['id']}$"))
        page.goto(f"{live_server}/app/search?q=zephyr&app=sales")
        screenshot(page, "search_results_phone")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
    finally:
        context.close()
