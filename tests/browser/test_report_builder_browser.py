"""A sales rep builds a report in Chromium — desktop and a phone-sized viewport: a summary report
on opportunities grouped by stage, a filter written by the condition builder, a sum and a column
chart, previewed live, saved, reopened from the reports list, cloned (save as) and the clone deleted. The figures are the
rep's own opportunities only (opportunity is private), compared with sums computed here.
Screenshots: tests/artifacts/screenshots/report_builder*."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from browser_helpers import screenshot, sign_in
from tessera.security.actor import SYSTEM

PASSWORD = "copper-harbor-lantern-8"
DEALS = [("Contoso platform", 120000, "Negotiation"), ("Fabrikam pilot", 15000, "Qualification"),
         ("Tailspin renewal", 48000, "Negotiation"), ("Tiny add-on", 900, "Negotiation")]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def rep(live_services):
    user, _ = live_services.identity.create_user("rb_rep", password=PASSWORD, last_name="Builder",
                                                 profile="sales_rep", role="sales_rep")
    close = (date.today() + timedelta(days=20)).isoformat()
    for name, amount, stage in DEALS:
        live_services.records.create(SYSTEM, "opportunity", {"name": name, "amount": amount, "stage": stage,
                                                             "close_date": close, "owner": user["id"]})
    live_services.records.create(SYSTEM, "opportunity", {"name": "Someone else's", "amount": 777777,
                                                         "stage": "Negotiation", "close_date": close})
    return user


def money(amount) -> str:
    return f"${amount:,.2f}"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_rep_builds_previews_saves_and_reopens_a_report(browser, live_server, rep, viewport):
    context = browser.new_context(viewport=PHONE if viewport == "phone" else {"width": 1280, "height": 860})
    page = context.new_page()
    sign_in(page, live_server, "rb_rep", PASSWORD)
    page.goto(f"{live_server}/app/sales/reports")
    page.click("#new-report")
    expect(page).to_have_url(re.compile(r"/app/sales/reports/new$"))
    ready = re.compile("ok|error")
    expect(page.locator("#report-builder")).to_have_attribute("data-preview-state", ready)   # the script is running
    label = f"Big deals by stage ({viewport})"
    page.fill("#rb-label", label)
    page.fill("#rb-folder", "My pipeline")
    page.select_option("#rb-object", "opportunity")
    page.select_option("#rb-format", "summary")
    page.select_option("#rb-group-field", "stage")
    page.click("#rb-group-add")
    page.select_option("#rb-sum-fn", "sum")
    page.select_option("#rb-sum-field", "amount")
    page.click("#rb-sum-add")
    # the condition builder writes the expression
    page.select_option("#rb-cond-field", "amount")
    page.select_option("#rb-cond-op", ">=")
    page.fill("#rb-cond-value", "10000")
    page.click("#rb-cond-add")
    expect(page.locator("#rb-filter")).to_have_value("amount >= 10000")
    page.select_option("#rb-chart", "column")

    big = [d for d in DEALS if d[1] >= 10000]
    negotiation = sum(a for _n, a, s in big if s == "Negotiation")
    preview = page.locator("#rb-preview-table")
    expect(preview.locator("tr.report-group", has_text="Negotiation")).to_contain_text(money(negotiation))
    expect(preview.locator("tfoot")).to_contain_text(money(sum(a for _n, a, _s in big)))
    expect(page.locator("#rb-preview-chart .report-chart .main-svg").first).to_be_attached()
    # a typed expression is validated live: an unknown field is named under the box
    page.fill("#rb-filter", "amount >= 10000 and nosuchfield == 1")
    expect(page.locator("#rb-filter-error")).to_contain_text("nosuchfield")
    expect(page.locator("#rb-filter")).to_have_class(re.compile("is-invalid"))
    page.fill("#rb-filter", "amount >= 10000")
    expect(page.locator("#rb-filter")).not_to_have_class(re.compile("is-invalid"))
    expect(preview.locator("tfoot")).to_contain_text(money(sum(a for _n, a, _s in big)))
    screenshot(page, f"report_builder_{viewport}")
    page.select_option("#rb-share-role", "sales_manager")      # the rep's manager and everyone below
    page.check("#rb-share-subordinates")

    page.click("#rb-save")
    expect(page).to_have_url(re.compile(r"/app/sales/reports/my/[0-9a-f-]+$"))
    expect(page.locator("h1.page-title")).to_have_text(label)
    expect(page.locator(".report-table tfoot")).to_contain_text(money(sum(a for _n, a, _s in big)))
    expect(page.locator(".report-chart .main-svg").first).to_be_attached()
    screenshot(page, f"report_builder_saved_{viewport}")

    # reopen from the list (its folder), then edit: the builder comes back with the saved state
    page.goto(f"{live_server}/app/sales/reports")
    folder = page.locator(".report-folder", has_text="My pipeline")
    folder.get_by_role("link", name=label).click()
    page.click("#edit-report")
    expect(page.locator("#report-builder")).to_have_attribute("data-preview-state", "ok")
    expect(page.locator("#rb-label")).to_have_value(label)
    expect(page.locator("#rb-filter")).to_have_value("amount >= 10000")
    expect(page.locator("#rb-groupings")).to_contain_text("Stage")
    expect(page.locator("#rb-chart")).to_have_value("column")
    expect(page.locator("#rb-share-role")).to_have_value("sales_manager")
    expect(page.locator("#rb-share-subordinates")).to_be_checked()
    expect(preview.locator("tr.report-group", has_text="Negotiation")).to_contain_text(money(negotiation))
    # save as: a clone of it, which is then deleted (own only); the original stays
    page.click("#rb-save-as")
    expect(page.locator("h1.page-title")).to_have_text(f"Copy of {label}")
    page.click("#edit-report")
    expect(page.locator("#report-builder")).to_have_attribute("data-preview-state", "ok")
    page.once("dialog", lambda d: d.accept())
    page.click("#rb-delete")
    expect(page).to_have_url(re.compile(r"/app/sales/reports$"))
    expect(page.get_by_role("link", name=f"Copy of {label}")).to_have_count(0)
    expect(page.get_by_role("link", name=label)).to_have_count(1)
    context.close()


def test_an_org_report_opens_in_the_builder_as_a_copy(page, live_server, rep):
    sign_in(page, live_server, "rb_rep", PASSWORD)
    page.goto(f"{live_server}/app/sales/reports/pipeline_by_stage")
    page.click("#copy-report")
    expect(page.locator("#report-builder")).to_have_attribute("data-preview-state", "ok")
    expect(page.locator("#rb-label")).to_have_value(re.compile(r"^Copy of "))
    expect(page.locator("#rb-format")).to_have_value("summary")
    expect(page.locator("#rb-delete")).to_have_count(0)          # nothing of the rep's to delete yet
    expect(page.locator("#rb-preview-table tr.report-group", has_text="Negotiation")).to_be_visible()
    # a date grouping with its bucket: a second level of groups, by close month
    page.select_option("#rb-group-field", "close_date")
    page.select_option("#rb-group-unit", "month")
    page.click("#rb-group-add")
    expect(page.locator("#rb-groupings")).to_contain_text("(month)")
    expect(page.locator("#rb-preview-table tr.report-group.depth-1").first).to_be_visible()
