"""The Activity card in Chromium, desktop and phone: log a call and add a note inline on an
account page (the page is never left), see both in the timeline, filter it by kind."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in
from playwright.sync_api import expect
from tessera.security.actor import SYSTEM


def test_log_a_call_and_add_a_note_inline(page, live_server, live_services):
    admin = live_services.identity.find_user("admin")["id"]
    account = live_services.records.create(SYSTEM, "account", {"name": "Timeline Bakery", "owner": admin})
    live_services.records.create(SYSTEM, "task", {"subject": "Send the price list", "due_date": "2020-02-02",
                                                  "owner": admin,
                                                  "related_to": {"object": "account", "id": account["id"]}})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/account/{account['id']}")
    page.wait_for_load_state("load")
    card = page.locator("#timeline")
    expect(card.locator(".timeline-open")).to_contain_text("Send the price list")
    expect(card.locator(".timeline-open")).to_contain_text("Overdue")
    url = page.url
    page.evaluate("window.__stay = 'still here'")   # gone if the page reloads or navigates

    card.get_by_role("button", name="Log a Call").click()
    expect(page.locator("#quick-call")).to_be_visible()
    page.fill("#quick-call-subject", "Discovery call")
    page.fill("#quick-call-duration", "20m")
    page.fill("#quick-call-notes", "Wants a tasting in May")
    page.locator("#quick-call button[type=submit]").click()
    expect(card.locator(".timeline-call")).to_contain_text("Discovery call")
    expect(page.locator("#quick-call")).to_be_hidden()

    card.get_by_role("button", name="New Note").click()
    page.fill("#quick-note-title", "Met the owner")
    page.fill("#quick-note-body", "Prefers email")
    page.locator("#quick-note button[type=submit]").click()
    expect(card.locator(".timeline-note")).to_contain_text("Met the owner")
    # newest first: the note above the call
    titles = card.locator(".timeline-entry .timeline-title").all_inner_texts()
    assert titles.index("Met the owner") < titles.index("Discovery call")
    assert page.url == url and page.evaluate("window.__stay") == "still here"

    # a call of no real duration: the error shows in the form, nothing is added
    card.get_by_role("button", name="Log a Call").click()
    page.fill("#quick-call-duration", "forever")
    page.locator("#quick-call button[type=submit]").click()
    expect(page.locator("#quick-call .quick-error")).to_contain_text("call_duration")
    card.get_by_role("button", name="Log a Call").click()
    expect(card.locator(".timeline-call")).to_have_count(1)

    page.select_option("#timeline-kind", "call")
    expect(card.locator(".timeline-note")).to_have_count(0)
    expect(card.locator(".timeline-call")).to_have_count(1)
    page.select_option("#timeline-kind", "")
    expect(card.locator(".timeline-note")).to_have_count(1)
    card.scroll_into_view_if_needed()
    screenshot(page, "timeline_desktop")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_load_state("load")
    card = page.locator("#timeline")
    expect(card.locator(".timeline-entry").first).to_be_visible()
    box = card.bounding_box()
    assert box["width"] <= 390
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    card.scroll_into_view_if_needed()
    screenshot(page, "timeline_phone")
    page.set_viewport_size({"width": 1280, "height": 860})
