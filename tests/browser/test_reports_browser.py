"""Reports and the Sales dashboard in Chromium, desktop and phone-sized: the dashboard's charts are
drawn by plotly.js served locally, a click on a funnel stage drills into the matching opportunities,
a report's groups collapse, and its CSV export holds the figures. Screenshots go to
tests/artifacts/screenshots/ (sales_dashboard*, report_*)."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from browser_helpers import screenshot, sign_in

DEALS = [("Northwind A", 1000, "Prospecting"), ("Northwind B", 2500, "Prospecting"),
         ("Northwind C", 4000, "Proposal"), ("Northwind D", 7000, "Closed Won")]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def deals(live_services):
    admin = live_services.identity.actor_for_user(live_services.identity.find_user("admin"))
    close = (date.today() + timedelta(days=10)).isoformat()
    return [live_services.records.create(admin, "opportunity", {
        "name": n, "amount": a, "stage": s, "close_date": date.today().isoformat() if s == "Closed Won" else close})
        for n, a, s in DEALS]


def test_the_sales_home_shows_its_dashboard_and_a_funnel_drills_down(page, live_server, deals):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales")
    dashboard = page.locator("#dashboard")
    expect(dashboard.locator("h2")).to_have_text("Sales Dashboard")
    open_pipeline = dashboard.locator(".dashboard-component").filter(has_text="Open Pipeline")
    expect(open_pipeline.locator(".metric-figure")).to_have_text("$7,500.00")
    funnel = dashboard.locator(".dashboard-component").filter(has_text="Pipeline by Stage").locator(".report-chart")
    expect(funnel).to_have_attribute("data-drawn", "1")          # plotly.js loaded (CSP: script-src 'self')
    screenshot(page, "sales_dashboard")
    # the Prospecting bar is the funnel's first: a click opens its records
    box = funnel.locator("g.point").first.bounding_box()     # plotly's drag layer takes the pointer: click there
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_url("**/app/sales/opportunity?**")
    expect(page.locator("#where-chip")).to_contain_text("stage == 'Prospecting'")
    rows = page.locator("table.list-table tbody tr, table tbody tr").filter(has_text="Northwind")
    expect(rows).to_have_count(2)


def test_a_report_page_collapses_groups_and_exports_csv(page, live_server, deals):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/reports")
    page.get_by_role("link", name="Forecast by Quarter").click()
    expect(page.locator("h1.page-title")).to_have_text("Forecast by Quarter")
    expect(page.locator(".report-chart")).to_have_attribute("data-drawn", "1")
    first_child = page.locator("tr.report-group.depth-1").first
    expect(first_child).to_be_visible()
    page.locator("tr.report-group.depth-0 .group-toggle").first.click()
    expect(first_child).to_be_hidden()
    page.locator("tr.report-group.depth-0 .group-toggle").first.click()
    expect(first_child).to_be_visible()
    screenshot(page, "report_forecast")
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Close Date (quarter)", "Forecast Category", "Expected Revenue", "Amount"]
    assert rows[-1][0] == "Grand total" and float(rows[-1][3]) == sum(a for _n, a, s, in DEALS)


def test_phone_sized_dashboard_and_report(browser, live_server, deals):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.goto(f"{live_server}/app/sales")
        expect(page.locator("#dashboard .report-chart").first).to_have_attribute("data-drawn", "1")
        screenshot(page, "sales_dashboard_phone")
        page.goto(f"{live_server}/app/sales/reports/opportunities_by_owner_stage")
        expect(page.locator("table.report-matrix")).to_be_visible()
        screenshot(page, "report_matrix_phone")
    finally:
        context.close()
