"""Browser sign-in: sessions with secure cookie flags, CSRF, throttling, logout over POST only."""
from __future__ import annotations

import re

import pytest

from tessera.security.actor import SYSTEM

BASE = "https://localhost"
REFERER = {"Referer": "https://localhost/login"}  # browsers send it; Flask-WTF checks it over HTTPS


@pytest.fixture
def browser(app):
    return app.test_client()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(browser, username, password, next_url=""):
    page = browser.get("/login", base_url=BASE)
    token = csrf_of(page.get_data(as_text=True))
    return browser.post("/login", base_url=BASE, headers=REFERER, data={
        "csrf_token": token, "username": username, "password": password, "next": next_url})


def test_login_sets_hardened_session_cookie(browser):
    r = login(browser, "admin", "orchid-lantern-42")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    home = browser.get("/app/", base_url=BASE)
    assert home.status_code == 200 and "admin" in home.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(browser):
    browser.get("/login", base_url=BASE)
    r = browser.post("/login", base_url=BASE, headers=REFERER, data={"username": "admin", "password": "orchid-lantern-42"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "csrf_failed"
    assert browser.get("/app/", base_url=BASE).status_code == 302


def test_wrong_password_and_throttling(browser, services):
    """Five wrong passwords from one address: the sixth attempt is refused (429) without checking
    the password, the right one included (more in test_login_throttle.py)."""
    for _ in range(5):
        r = login(browser, "admin", "wrong")
        assert r.status_code == 401 and "Wrong username or password" in r.get_data(as_text=True)
    r = login(browser, "admin", "orchid-lantern-42")  # right password, but throttled
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in r.get_data(as_text=True)
    from tessera.security import audit
    actions = [e["action"] for e in audit.entries(services.engine)]
    assert actions.count("login.failed") == 5 and actions.count("login.throttled") == 1 and "login" not in actions


def test_unknown_user_gets_the_same_answer(browser):
    r = login(browser, "nobody-here", "whatever")
    assert r.status_code == 401 and "Wrong username or password" in r.get_data(as_text=True)


def test_logout_is_post_only_and_needs_csrf(browser):
    login(browser, "admin", "orchid-lantern-42")
    assert browser.get("/logout", base_url=BASE).status_code == 405
    assert browser.post("/logout", base_url=BASE, headers=REFERER).status_code == 400  # no CSRF token
    token = csrf_of(browser.get("/app/", base_url=BASE).get_data(as_text=True))
    cross_site = browser.post("/logout", base_url=BASE, headers={"Referer": "https://evil.example/"},
                              data={"csrf_token": token})
    assert cross_site.status_code == 400
    assert browser.get("/app/", base_url=BASE).status_code == 200  # still signed in
    r = browser.post("/logout", base_url=BASE, headers=REFERER, data={"csrf_token": token})
    assert r.status_code == 302
    assert browser.get("/app/", base_url=BASE).status_code == 302


def test_inactive_users_are_refused_and_lose_their_session(browser, services):
    user, _ = services.identity.create_user("carol", password="copper-kettle-19", last_name="C",
                                            profile="system_administrator")
    assert login(browser, "carol", "copper-kettle-19").status_code == 302
    assert browser.get("/app/", base_url=BASE).status_code == 200
    services.records.update(SYSTEM, "user", user["id"], {"active": False})
    services.identity._actors.clear()  # drop the short per-worker cache instead of sleeping
    assert browser.get("/app/", base_url=BASE).status_code == 302
    other = browser.application.test_client()
    assert login(other, "carol", "copper-kettle-19").status_code == 401


def test_no_open_redirect_after_login(browser):
    r = login(browser, "admin", "orchid-lantern-42", next_url="//evil.example/steal")
    assert r.headers["Location"] == "/"
    r2 = login(browser.application.test_client(), "admin", "orchid-lantern-42", next_url="/api/v1/openapi.json")
    assert r2.headers["Location"] == "/api/v1/openapi.json"


def test_api_ignores_session_cookies(browser):
    login(browser, "admin", "orchid-lantern-42")
    response = browser.get("/api/v1/objects", base_url=BASE)
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers   # the API never opens (nor refreshes) the session
    assert "/login" not in browser.get("/", base_url=BASE).headers["Location"]   # still signed in
