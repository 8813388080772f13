"""Child rows in the parent's form (headless Chromium): the stock quote's line items are a grid —
reorder by the keyboard-accessible up/down buttons and by drag, add a row (product picked in the
row's own lookup), delete a row; a row's error shows in its cell and nothing is saved; the save
replaces the quote's line items in the order shown. Desktop and phone screenshots."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in
from playwright.sync_api import expect
from tessera.security.actor import SYSTEM

from test_copy_on_select import pick_lookup


def _lines(records, quote_id):
    return [(row["name"], row["quantity"]) for row in records.get(SYSTEM, "quote", quote_id)["line_items"]]


def test_line_items_grid(page, live_server, live_services):
    records = live_services.records
    ids = {name: records.create(SYSTEM, "product", {"name": name})["id"] for name in ("Widget", "Gadget", "Gizmo")}
    quote = records.create(SYSTEM, "quote", {"name": "Grid quote", "line_items": [
        {"product": ids["Widget"], "quantity": 1, "unit_price": 10},
        {"product": ids["Gadget"], "quantity": 2, "unit_price": 5}]})
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/quote/{quote['id']}/edit")
    rows = page.locator("#grid-line_items tbody tr.rows-row")
    expect(rows).to_have_count(2)
    # keyboard: the first row's "move down" button, pressed with Enter
    rows.nth(0).locator(".js-rows-down").focus()
    page.keyboard.press("Enter")
    expect(rows.nth(0).locator("[name='line_items.0.quantity']")).to_have_value("2.00")
    expect(rows.nth(1).locator(".js-rows-down")).to_be_disabled()
    # add a row, pick its product, give it a quantity the validation rule refuses
    page.click("#grid-line_items .js-rows-add")
    expect(rows).to_have_count(3)
    pick_lookup(page, "f-line_items-2-product", "gizmo", "Gizmo")
    page.fill("#f-line_items-2-quantity", "0")
    page.fill("#f-line_items-2-unit_price", "3")
    screenshot(page, "quote_rows_grid_desktop")
    page.click("#save")
    error = page.locator("#grid-line_items .field-error[data-field='line_items[2].quantity']")
    expect(error).to_have_text("Quantity must be more than zero.")
    assert _lines(records, quote["id"]) == [("Widget", 1.0), ("Gadget", 2.0)]   # nothing saved
    expect(rows).to_have_count(3)
    assert page.input_value("#f-line_items-2-product") == ids["Gizmo"]        # the form kept the new row
    # fix it, delete the Widget row (now second), save
    page.fill("#f-line_items-2-quantity", "4")
    rows.nth(1).locator(".js-rows-delete").click()
    expect(rows).to_have_count(2)
    page.click("#save")
    page.wait_for_selector("#record-title")
    assert _lines(records, quote["id"]) == [("Gadget", 2.0), ("Gizmo", 4.0)]
    # drag the last row above the first
    page.goto(f"{live_server}/app/sales/quote/{quote['id']}/edit")
    rows.nth(1).locator(".rows-handle").drag_to(rows.nth(0).locator(".rows-handle"),
                                                target_position={"x": 5, "y": 2})
    expect(rows.nth(0).locator("[name='line_items.0.quantity']")).to_have_value("4.00")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "quote_rows_grid_phone")
    page.click("#save")
    page.wait_for_selector("#record-title")
    assert _lines(records, quote["id"]) == [("Gizmo", 4.0), ("Gadget", 2.0)]
