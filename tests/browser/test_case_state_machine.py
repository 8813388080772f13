"""The stock case status is a state machine: on the kanban, a card can be dropped only on the
lanes it may move to (a refused lane takes no drop and sends nothing), and its "Move to" menu lists
only those. Headless Debian Chromium."""
from __future__ import annotations

from playwright.sync_api import expect

from browser_helpers import sign_in
from tessera.security.actor import SYSTEM


def test_kanban_drops_only_on_allowed_lanes(page, live_server, live_services):
    records = live_services.records
    case = records.create(SYSTEM, "case", {"subject": "Browser state machine", "reason": "Other"})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/service/case/kanban?field=status")
    card = f".kanban-card[data-id='{case['id']}']"
    expect(page.locator(f".lane[data-value='New'] {card}")).to_have_count(1)
    page.click(f"{card} .card-menu button")
    expect(page.locator(f"{card} .js-move-to")).to_have_text(["Working", "Closed"])
    page.keyboard.press("Escape")
    page.drag_and_drop(card, ".lane[data-value='Waiting'] .lane-cards")    # New -> Waiting: no such move
    page.wait_for_timeout(1000)
    expect(page.locator(".app-toast.toast-danger")).to_have_count(0)     # nothing was sent to be refused
    expect(page.locator(f".lane[data-value='New'] {card}")).to_have_count(1)
    assert records.get(SYSTEM, "case", case["id"])["status"] == "New"
    page.drag_and_drop(card, ".lane[data-value='Working'] .lane-cards")
    page.wait_for_selector(".app-toast:has-text('Moved to Working')")
    assert records.get(SYSTEM, "case", case["id"])["status"] == "Working"
