"""Figures under a list, kanban lane totals and export of the current view, in Chromium — desktop
and a phone-sized viewport. The admin (system_administrator: export_data) works the stock Sales
app's opportunities; a sales rep (no export_data) sees no export button. Screenshots go to
tests/artifacts/screenshots/ (list_figures*, kanban_lane_totals*)."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from browser_helpers import screenshot, sign_in
from tessera.security.actor import SYSTEM

DEALS = [("Contoso platform", 120000, "Negotiation"), ("Fabrikam pilot", 15000.5, "Qualification"),
         ("Tailspin renewal", 48000, "Proposal"), ("Litware expansion", 230000, "Negotiation"),
         ("Contoso services", 9000, "Prospecting"), ("=cmd|' /C calc'!A0", 4000, "Qualification")]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def deals(live_services):
    close = (date.today() + timedelta(days=20)).isoformat()
    return [live_services.records.create(SYSTEM, "opportunity", {"name": n, "amount": a, "stage": s,
                                                                 "close_date": close})
            for n, a, s in DEALS]


def money(amount) -> str:
    return f"${amount:,.2f}"


def test_footer_figures_follow_the_whole_filter(page, live_server, deals):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/opportunity?limit=10")
    expect(page.locator("#list-figures")).to_be_visible()
    page.select_option("#figure-amount", label="Sum")            # navigates to the list with agg=sum:amount
    expect(page).to_have_url(re.compile(r"agg=sum%3Aamount"))
    cell = page.locator("#list-figures td[data-path='amount'] .figure-value")
    expect(cell).to_have_text(money(sum(a for _n, a, _s in DEALS)))
    page.wait_for_load_state("load")       # the pickers submit from app.js: only once it has run
    page.select_option("#figure-name", label="Count")
    expect(page.locator("#list-figures td[data-path='name'] .figure-value")).to_have_text(str(len(DEALS)))
    expect(cell).to_have_text(money(sum(a for _n, a, _s in DEALS)))   # the first choice is kept
    screenshot(page, "list_figures")
    # a search narrows the figures with the rows
    page.fill("#list-search", "contoso")
    page.press("#list-search", "Enter")
    expect(page).to_have_url(re.compile(r"q=contoso"))
    expect(cell).to_have_text(money(sum(a for n, a, _s in DEALS if "contoso" in n.lower())))
    expect(page.locator("#list-figures td[data-path='name'] .figure-value")).to_have_text("2")
    # "None" takes the figure away again
    page.wait_for_load_state("load")
    page.select_option("#figure-name", label="None")
    expect(page.locator("#list-figures td[data-path='name'] .figure-value")).to_have_count(0)


def test_kanban_lane_totals(page, live_server, deals):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/opportunity/kanban?field=stage")
    totals = {}
    for _n, amount, stage in DEALS:
        totals[stage] = totals.get(stage, 0) + amount
    for stage, total in totals.items():
        expect(page.locator(f".lane[data-value='{stage}'] .lane-sum")).to_have_text(money(total))
    expect(page.locator("#lane-total")).to_have_value(re.compile(r"total=amount$"))
    screenshot(page, "kanban_lane_totals")
    page.select_option("#lane-total", label="No total")
    expect(page).to_have_url(re.compile(r"total=none"))
    expect(page.locator(".lane-sum")).to_have_count(0)
    # the picker submits from app.js: pick again only once the new page's scripts have run (under
    # load the URL changes well before the board's script is attached)
    page.wait_for_load_state("load")
    page.select_option("#lane-total", label="Sum of Amount")
    expect(page).to_have_url(re.compile(r"total=amount"))
    expect(page.locator(".lane[data-value='Negotiation'] .lane-sum")).to_have_text(money(totals["Negotiation"]))


def test_export_downloads_the_current_view(page, live_server, deals):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/opportunity?cols=name,amount,stage&sort=-amount&f.stage=Qualification"
              "&f.stage=Negotiation")
    page.click("#list-settings")
    with page.expect_download() as info:
        page.click("#export-csv")
    text = info.value.path().read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    picked = sorted((d for d in DEALS if d[2] in ("Qualification", "Negotiation")), key=lambda d: -d[1])
    assert rows[0] == ["Opportunity Name", "Amount", "Stage"]
    assert rows[1:] == [[("'" + n) if n.startswith("=") else n, money(a), s] for n, a, s in picked]
    page.click("#list-settings")
    with page.expect_download() as info:
        page.click("#export-xlsx")
    assert info.value.suggested_filename.endswith(".xlsx")
    ws = load_workbook(io.BytesIO(info.value.path().read_bytes())).active
    values = list(ws.iter_rows(min_row=2, values_only=True))
    assert [(n, float(a), s) for n, a, s in values] == [(n, float(a), s) for n, a, s in picked]


def test_a_rep_without_export_data_has_no_export(page, live_server, live_services, deals):
    live_services.identity.create_user("sam", password="saffron-beacon-36", first_name="Sam", last_name="Seller",
                                       email="sam@example.com", profile="sales_rep", role="sales_rep")
    sign_in(page, live_server, "sam", "saffron-beacon-36")
    page.goto(f"{live_server}/app/sales/opportunity")
    page.click("#list-settings")
    expect(page.locator("#columns-modal")).to_be_attached()
    expect(page.locator("#export-csv")).to_have_count(0)
    response = page.goto(f"{live_server}/app/sales/opportunity/export.csv")
    assert response.status == 403


def test_phone_figures_and_lane_totals(browser, live_server, deals):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.goto(f"{live_server}/app/sales/opportunity?agg=sum%3Aamount")
        figures = page.locator("#mobile-figures")
        expect(figures).to_be_visible()
        expect(page.locator("#list-figures")).to_be_hidden()            # the table is for wider screens
        expect(figures.locator(".mobile-figure[data-path='amount'] .figure-value")).to_have_text(
            money(sum(a for _n, a, _s in DEALS)))
        page.select_option("#m-figure-name", label="Count")
        expect(page.locator("#mobile-figures .mobile-figure[data-path='name'] .figure-value")).to_have_text(
            str(len(DEALS)))
        screenshot(page, "list_figures_phone")
        page.goto(f"{live_server}/app/sales/opportunity/kanban?field=stage")
        expect(page.locator(".lane[data-value='Negotiation'] .lane-sum")).to_have_text(money(350000))
        screenshot(page, "kanban_lane_totals_phone")
    finally:
        context.close()
