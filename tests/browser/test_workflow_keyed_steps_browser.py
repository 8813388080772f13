"""In a real browser: an admin builds a workflow with an upsert_record step point-and-click — the
object picked, its key field chosen from the object's external ids and unique fields, the key's
expression checked live against that field, values for every save and values only for a new record —
and saving contacts creates, then updates, one account per key. The update_record card's "another
record, found by a key" shows the same key inputs. Seen at desktop and phone widths."""
from __future__ import annotations

from browser_helpers import sign_in
from test_workflow_waits_related_retry_browser import PHONE, checked, screenshot

from tessera.security.actor import SYSTEM


def _upsert_card(page, base):
    page.goto(f"{base}/setup/workflows/new")
    page.fill("#label", "Account per department")
    page.select_option("#object", "contact")
    page.select_option("#trigger-event", "create")
    card = page.locator(".wf-root > .wf-actions > .wf-action").nth(0)
    card.locator(".wf-type").first.select_option("upsert_record")
    assert not card.locator(".wf-find").is_visible()          # update_record's switch only
    card.locator(".wf-object").select_option("account")
    keys = card.locator(".wf-match-field option").evaluate_all("os => os.map(o => o.value)")
    assert keys == ["", "account_number"]                      # the account's external id, nothing else
    card.locator(".wf-match-field").select_option("account_number")
    return card


def test_admin_builds_an_upsert_workflow(page, browser, live_server, live_services):
    base, services = live_server, live_services
    sign_in(page, base)
    card = _upsert_card(page, base)
    key = card.locator(".wf-match-value")
    key.fill("birthdate")                                      # a date cannot be an account number
    checked(page, "[name='actions.0.match_value']", "bad")
    key.fill("'DEPT-' + department")
    checked(page, "[name='actions.0.match_value']", "ok")
    fields = card.locator(".wf-values[data-list=values] .wf-field").first.locator("option") \
        .evaluate_all("os => os.map(o => o.value)")
    assert "description" in fields and "last_name" not in fields   # the account's fields, not the contact's
    card.locator(".wf-values[data-list=values] .wf-field").first.select_option("description")
    card.locator(".wf-values[data-list=values] input[data-expression]").first.fill("'Last contact: ' + last_name")
    checked(page, "[name='actions.0.values.0.expr']", "ok")
    card.locator(".wf-values[data-list=on_create] .wf-field").first.select_option("name")
    card.locator(".wf-values[data-list=on_create] input[data-expression]").first.fill("department + ' department'")
    checked(page, "[name='actions.0.on_create.0.expr']", "ok")
    card.locator("[data-wf-add-value=on_create]").click()
    on_create = card.locator(".wf-values[data-list=on_create] .wf-value")
    assert on_create.count() == 2
    on_create.nth(1).locator(".wf-field").select_option("rating")
    on_create.nth(1).locator("input[data-expression]").fill("'Warm'")
    checked(page, "[name='actions.0.on_create.1.expr']", "ok")
    screenshot(page, "admin_workflow_builder_upsert")

    with page.expect_navigation():
        page.click("#save-workflow")
    page.wait_for_selector("#confirm-change")
    with page.expect_navigation():
        page.click("#confirm-button")
    assert page.locator(".alert-success").count() == 1, page.content()[:2000]
    wf = services.runtimes.current().metadata.workflows["account_per_department"]
    assert [dict(a) for a in wf["actions"]] == [
        {"type": "upsert_record", "object": "account", "match": {"field": "account_number", "value": "'DEPT-' + department"},
         "values": {"description": "'Last contact: ' + last_name"},
         "on_create": {"name": "department + ' department'", "rating": "'Warm'"}}]

    # it runs: the first contact of a department creates its account, the next one updates it
    services.records.create(SYSTEM, "contact", {"last_name": "Ada", "department": "Research"})
    services.records.create(SYSTEM, "contact", {"last_name": "Grace", "department": "Research"})
    accounts = services.records.query(SYSTEM, "account", filter="account_number == 'DEPT-Research'").records
    assert [(a["name"], a["rating"], a["description"]) for a in accounts] == \
        [("Research department", "Warm", "Last contact: Grace")]

    # the stored workflow opens in the builder again (not read-only), showing what was built
    page.goto(f"{base}/setup/workflows/account_per_department/")
    assert page.locator("#workflow-read-only").count() == 0
    card = page.locator(".wf-root > .wf-actions > .wf-action").nth(0)
    assert card.locator(".wf-match-field").input_value() == "account_number"
    assert card.locator(".wf-values[data-list=on_create] .wf-value").count() == 2

    # update_record: "another record, found by a key" shows the key inputs; "this record" hides them
    page.click(".wf-root > .wf-add-action")
    second = page.locator(".wf-root > .wf-actions > .wf-action").nth(1)
    second.locator(".wf-type").first.select_option("update_record")
    assert second.locator(".wf-find").is_visible() and not second.locator(".wf-match-field").is_visible()
    second.locator(".wf-find").select_option("match")
    assert second.locator(".wf-match-field").is_visible() and second.locator(".wf-object").is_visible()
    assert second.locator(".wf-object option").first.inner_text() == "This workflow's object"
    second.locator(".wf-object").select_option("account")
    second.locator(".wf-match-field").select_option("account_number")
    screenshot(page, "admin_workflow_builder_update_by_key")

    phone = browser.new_context(viewport=PHONE)
    try:
        p2 = phone.new_page()
        sign_in(p2, base)
        _upsert_card(p2, base)
        screenshot(p2, "admin_workflow_builder_upsert_phone")
    finally:
        phone.close()
