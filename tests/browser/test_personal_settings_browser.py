"""In Chromium, desktop and phone: the avatar menu leads to Personal settings; choosing a time zone
and locale changes how dates read at once."""
from __future__ import annotations

from browser_helpers import screenshot, sign_in


def test_personal_settings_from_the_user_menu(page, live_server, live_services):
    sign_in(page, live_server)
    page.goto(f"{live_server}/app/")
    page.wait_for_load_state("load")
    page.click(".avatar-btn")
    with page.expect_navigation():
        page.click("#personal-settings-link")
    assert page.url.endswith("/app/settings")
    before = page.inner_text("#sample-now")
    page.select_option("#time_zone", "Asia/Tokyo")
    page.select_option("#locale", "de_DE")
    with page.expect_navigation():
        page.click("#save-preferences")
    page.wait_for_load_state("load")
    after = page.inner_text("#sample-now")
    assert after != before and "." in after and ("AM" not in after and "PM" not in after)   # 07.12.2026, 15:04
    screenshot(page, "personal_settings")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "personal_settings_phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # back to the defaults, for the other tests of this module's server
    page.select_option("#time_zone", "UTC")
    page.select_option("#locale", "en_US")
    with page.expect_navigation():
        page.click("#save-preferences")
