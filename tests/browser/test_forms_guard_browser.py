"""In Chromium: leaving a form or the layout editor with unsaved changes asks first (only when
dirty, never on its own submit); Save shows progress and cannot send twice; admins reach Setup
from the app menu; browsers get HTML error pages."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in


def _leave_by_link(page, selector):
    """Click a link away; return the beforeunload dialogs shown (each dismissed: we stay)."""
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.type)
        dialog.dismiss()
    page.on("dialog", on_dialog)
    page.click(selector, no_wait_after=True)
    page.wait_for_timeout(400)
    page.remove_listener("dialog", on_dialog)
    return dialogs


def _accounts_named(services, name):
    from tessera.security.actor import SYSTEM
    return services.records.query(SYSTEM, "account", filter=f"name == '{name}'")


def test_record_form_guard_and_single_save(page, live_server, live_services):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/sales/account/new")
    page.wait_for_load_state("load")
    # nothing typed: leaving asks nothing
    assert _leave_by_link(page, "a.brand") == []
    page.wait_for_url("**/app/")
    page.goto(f"{live_server}/app/sales/account/new")
    page.wait_for_load_state("load")
    page.click("#f-name")
    page.keyboard.type("Guarded Ltd")
    assert _leave_by_link(page, "a.brand") == ["beforeunload"]
    assert page.url.endswith("/app/sales/account/new")            # dismissed: still on the form
    # typing the value back makes the form clean again
    page.fill("#f-name", "")
    assert page.evaluate("window.tsForms.dirty()") is False
    page.fill("#f-name", "Guarded Ltd")
    assert page.evaluate("window.tsForms.dirty()") is True

    # Save twice in a row: one request, the button shows progress, no leave prompt
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    with page.expect_navigation():
        label = page.evaluate("""() => {
            const form = document.getElementById('record-form'), save = document.getElementById('save');
            form.requestSubmit(save); const shown = save.textContent; form.requestSubmit(save);
            return [shown, save.getAttribute('aria-disabled')]; }""")
    assert label == ["Saving…", "true"]
    page.wait_for_load_state("load")
    assert dialogs == []
    assert "/app/sales/account/" in page.url and not page.url.endswith("/new")
    assert len(_accounts_named(live_services, "Guarded Ltd").records) == 1


def test_layout_editor_guard(page, live_server):
    sign_in(page, live_server)
    page.goto(f"{live_server}/setup/layouts/account/")
    page.wait_for_load_state("load")
    assert _leave_by_link(page, ".ts-topbar .navbar-brand") == []
    page.wait_for_url("**/setup/")
    page.goto(f"{live_server}/setup/layouts/account/")
    page.wait_for_load_state("load")
    page.click("#add-section")                       # changes that live in the DOM, not in fields
    page.keyboard.type("Extra")
    page.click('#sections [data-field="website"] [data-chip-remove]')     # to the palette…
    page.click("#sections [data-section]:last-child .ts-section-label")
    page.dblclick('#palette [data-field="website"]')                       # …and into the new section
    assert page.locator('#sections [data-section]:last-child [data-field="website"]').count() == 1
    assert _leave_by_link(page, ".ts-topbar .navbar-brand") == ["beforeunload"]
    assert "/setup/layouts/account/" in page.url
    screenshot(page, "layout_editor_unsaved")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    with page.expect_navigation():
        page.click("#save-layout")
    page.wait_for_selector("#confirm-change")
    assert dialogs == []                              # its own Save never asks


def test_setup_link_in_the_app_menu(page, live_server):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/")
    page.wait_for_load_state("load")
    page.click(".launcher-btn")
    with page.expect_navigation():
        page.click(".app-menu .setup-link")
    assert page.url.rstrip("/").endswith("/setup")


def test_browser_error_pages_and_favicon(page, live_server):
    page.goto(f"{live_server}/no-such-page")
    assert page.title().startswith("Page not found")
    assert page.inner_text(".status-code") == "404"
    screenshot(page, "error_page_404")
    assert page.evaluate("fetch('/favicon.ico').then(r => r.headers.get('content-type'))").startswith("image/svg+xml")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "error_page_404_phone")
