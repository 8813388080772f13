"""The sign-in page in a real browser."""
from browser_helpers import screenshot, sign_in


def test_sign_in_and_out(page, live_server):
    page.goto(f"{live_server}/")
    assert "/login" in page.url
    screenshot(page, "login")
    page.fill("#username", "admin")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert "Wrong username or password" in page.content()
    sign_in(page, live_server)
    assert page.url == f"{live_server}/app/"  # signed-in users land on the app launcher
    assert "admin" in page.content()
    page.click("[aria-label='User menu']")  # sign-out lives in the user menu
    page.click("text=Sign out")
    page.wait_for_load_state()
    assert "/login" in page.url


def test_script_in_labels_does_not_run(page, live_server):
    page.goto(f"{live_server}/login?next=%22%3E%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E")
    assert page.evaluate("window.pwned") is None
