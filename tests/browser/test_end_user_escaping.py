"""Script payloads in metadata labels (an org extension applied through the change pipeline) and in
record values never run in the browser: list, record, form, kanban and search pages are loaded in
Chromium and `window.pwned` stays undefined, while the payloads are visible as text."""
from __future__ import annotations

import uuid

import pytest

from browser_helpers import sign_in
from tessera.meta.source import empty_org

SCRIPT = "<script>window.pwned=1</script>"
IMG = '"><img src=x onerror=window.pwned=1>'
USER, PASSWORD = "mallory", "cobalt-thistle-71"


@pytest.fixture(scope="module")
def hostile(live_services):
    org = empty_org()
    org["components"]["objects"]["account"] = {"source": "org/objects/account.yaml", "doc": {
        "extends": "account", "label": SCRIPT,
        "fields": {"industry": {"label": IMG, "help": SCRIPT},
                   "tags": {"type": "multi_picklist", "label": SCRIPT, "values": [IMG, "plain"]},
                   "motto": {"type": "text", "label": IMG, "help": IMG}}}}
    org["components"]["list_views"]["hostile_accounts"] = {"source": "org/list_views/hostile_accounts.yaml", "doc": {
        "name": "hostile_accounts", "object": "account", "label": IMG, "columns": ["name", "tags", "motto", "industry"]}}
    org["components"]["layouts"]["account"] = {"source": "org/layouts/account.yaml", "doc": {
        "name": "account", "object": "account", "label": "Account",
        "sections": [{"label": SCRIPT, "columns": 2, "fields": ["name", "industry", "tags", "motto", "description", "owner"]}],
        "related_lists": [{"object": "opportunity", "field": "account", "label": IMG, "columns": ["name", "stage"]}]}}
    live_services.changes.apply_org(org, author="admin", message="hostile labels")
    user, _ = live_services.identity.create_user(USER, password=PASSWORD, last_name=IMG, profile="sales_rep",
                                                 role="sales_rep")
    actor = live_services.identity.actor_for_user_id(uuid.UUID(user["id"]))
    account = live_services.records.create(actor, "account", {
        "name": SCRIPT, "motto": IMG, "description": SCRIPT + "\n" + IMG, "tags": [IMG, "plain"], "industry": "Retail",
        "website": "https://example.com/?q=%22%3E%3Cscript%3E"})
    opp = live_services.records.create(actor, "opportunity", {"name": IMG, "account": account["id"], "stage": "Prospecting"})
    note = live_services.records.create(actor, "note", {"title": SCRIPT, "body": "<p>ok</p>" + SCRIPT + IMG})
    return {"account": account, "opportunity": opp, "note": note}


def test_payloads_never_run(page, live_server, hostile):
    a, o, n = hostile["account"]["id"], hostile["opportunity"]["id"], hostile["note"]["id"]
    sign_in(page, live_server, USER, PASSWORD)
    urls = ["/app/", "/app/sales", "/app/sales/account", "/app/sales/account?view=hostile_accounts",
            f"/app/sales/account/{a}", f"/app/sales/account/{a}/edit", "/app/sales/account/new",
            "/app/sales/account/kanban?field=industry", "/app/sales/opportunity", "/app/sales/opportunity/kanban",
            f"/app/sales/opportunity/{o}", f"/app/sales/opportunity/{o}/edit", f"/app/home/note/{n}",
            "/app/search?q=script", "/app/search?q=img", f"/app/sales/account?q={IMG}"]
    for url in urls:
        page.goto(live_server + url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.pwned") == "undefined", url
    # escaped, not merely blocked: the payloads are on the page as text
    page.goto(f"{live_server}/app/sales/account/{a}")
    assert page.inner_text("#record-title") == SCRIPT
    assert page.locator(f".detail-field[data-field='motto'] .js-value:has-text('{IMG}')").count() == 1
    assert page.locator(".section-title", has_text=SCRIPT).count() == 1
    # inline edit renders server HTML for a hostile value
    row = page.locator(".detail-field[data-field='motto']")
    row.hover()
    row.locator(".js-inline-edit").click()
    row.locator(".inline-editor input[name='motto']").fill(SCRIPT + IMG)
    row.locator(".js-inline-save").click()
    page.wait_for_selector(".app-toast:has-text('Saved')")
    assert row.locator(".js-value").inner_text() == SCRIPT + IMG
    assert page.evaluate("typeof window.pwned") == "undefined"
    # Select2 widgets show hostile option labels as text
    page.goto(f"{live_server}/app/sales/account/{a}/edit")
    assert page.locator("#s2id_f-tags .select2-search-choice", has_text=IMG).count() == 1
    page.goto(f"{live_server}/app/sales/opportunity/{o}/edit")
    page.click("#s2id_f-account a.select2-choice")
    page.fill(".select2-drop-active .select2-input", "script")
    page.wait_for_selector(".select2-drop-active .select2-result-selectable")
    assert SCRIPT in page.inner_text(".select2-drop-active .select2-results")
    assert page.evaluate("typeof window.pwned") == "undefined"
    # sanitized rich text renders as HTML, without the script
    page.goto(f"{live_server}/app/home/note/{n}")
    assert page.locator(".rich-text p", has_text="ok").count() == 1
    assert page.evaluate("typeof window.pwned") == "undefined"
