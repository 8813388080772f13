"""/setup under the strict CSP (web/headers.py: no inline script): Flask-Admin's pages load every
script and style, and its inline-handler controls still work — bound by setup.js (issue 11, item 7).
Chromium reports each inline `onclick=` attribute of Flask-Admin's templates as refused when it
parses it (the "With selected" actions), and its `href="javascript:void(0)"` menu links when
clicked: those are the only violations allowed (nothing needed is blocked)."""
from __future__ import annotations

from browser_helpers import sign_in


def test_users_bulk_action_works_under_the_csp(page, live_server, live_services):
    user, _ = live_services.identity.create_user("csp_victim", password="Tq7-violet-harbor-92", last_name="Victim",
                                                 email="csp@example.com", profile="standard_user")
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text
            and not msg.text.startswith(("Executing inline event handler", "Running the JavaScript URL")) else None)
    sign_in(page, live_server)
    for path in ("/setup/", "/setup/users/", "/setup/objects/", "/setup/versions/", "/login", "/app/"):
        response = page.goto(live_server + path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    assert violations == []

    page.goto(live_server + "/setup/users/")
    page.check(f'input.action-checkbox[value="{user["id"]}"]')
    page.click("text=With selected")
    page.once("dialog", lambda dialog: dialog.accept())   # "Deactivate the selected users? …"
    with page.expect_navigation():
        page.click("a.dropdown-item:has-text('Deactivate')")
    assert live_services.identity.find_user("csp_victim")["active"] is False
    assert violations == []
