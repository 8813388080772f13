"""A geolocation in the generated form (headless Chromium): the stock account's billing location is
one field with two number inputs; half a point is refused naming the missing part, a full one is
saved and shown as "48.856600, 2.352200" (no map: there are no tiles without internet)."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in
from playwright.sync_api import expect
from tessera.security.actor import SYSTEM


def test_entering_a_billing_location(page, live_server, live_services):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/account/new")
    page.fill("#f-name", "Geo Bistro")
    page.fill("#f-billing_location", "48.8566")          # the latitude input carries the field's id
    page.click("#save")
    expect(page.locator(".field-error[data-field='billing_location']")).to_contain_text("longitude is required")
    expect(page.locator("#f-billing_location")).to_have_value("48.8566")   # kept for correction
    page.fill("#f-billing_location-longitude", "2.3522")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "account_geolocation_form_phone")
    page.set_viewport_size({"width": 1280, "height": 860})
    screenshot(page, "account_geolocation_form")
    page.click("#save")
    page.wait_for_selector("#record-title")
    expect(page.locator(".geo")).to_have_text("48.856600, 2.352200")
    screenshot(page, "account_geolocation_record")
    account = live_services.records.get(SYSTEM, "account", page.url.rsplit("/", 1)[1])
    assert account["billing_location"] == {"latitude": 48.8566, "longitude": 2.3522}
