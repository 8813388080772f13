"""Session cookies are Secure exactly when the request arrived over HTTPS — directly or through a
trusted proxy's X-Forwarded-Proto, never an untrusted one's; HSTS only on HTTPS; signing in works
over plain HTTP from a LAN address (with one warning in the log). Both databases."""
from __future__ import annotations

import logging
import re

import pytest

from tessera.environment import EnvironmentSettingError
from tessera.web.app import create_app

PROXY, STRANGER, LAN = "10.0.0.1", "10.9.9.9", "192.168.1.20"
ADMIN_PASSWORD = "orchid-lantern-42"


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def is_secure(cookie: str) -> bool:
    return "; Secure" in cookie


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def proxied_app(services):
    return create_app(services=services, forwarded_allow_ips=f"{PROXY}, 172.16.0.0/12")


def test_secure_cookie_and_hsts_follow_the_scheme_the_client_used(proxied_app):
    cases = [  # (base url, peer address, headers) -> the client used HTTPS
        ("http://localhost", "127.0.0.1", {}, False),
        ("https://localhost", "127.0.0.1", {}, True),
        ("http://localhost", PROXY, {"X-Forwarded-Proto": "https"}, True),          # a trusted proxy
        ("http://localhost", "172.20.3.4", {"X-Forwarded-Proto": "https"}, True),    # in a trusted network
        ("http://localhost", STRANGER, {"X-Forwarded-Proto": "https"}, False),       # anyone can send it
        ("http://localhost", PROXY, {"X-Forwarded-Proto": "http"}, False),
    ]
    for base, peer, headers, https in cases:
        r = proxied_app.test_client().get("/login", base_url=base, headers=headers, environ_base={"REMOTE_ADDR": peer})
        assert r.status_code == 200
        assert is_secure(session_cookie(r)) is https, (base, peer, headers)
        assert ("Strict-Transport-Security" in r.headers) is https, (base, peer, headers)
        if https:
            assert r.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_nothing_is_trusted_unless_configured(services, monkeypatch):
    monkeypatch.delenv("TESSERA_FORWARDED_ALLOW_IPS", raising=False)
    r = create_app(services=services).test_client().get(
        "/login", headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert not is_secure(session_cookie(r)) and "Strict-Transport-Security" not in r.headers
    monkeypatch.setenv("TESSERA_FORWARDED_ALLOW_IPS", "127.0.0.1")      # the environment variable works too
    r = create_app(services=services).test_client().get(
        "/login", headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert is_secure(session_cookie(r)) and "Strict-Transport-Security" in r.headers


def test_the_client_address_comes_from_a_trusted_proxy_only(proxied_app, monkeypatch):
    """X-Forwarded-For names the client for the rate limits when the proxy is trusted: two
    clients behind one proxy are counted apart, a stranger's header is ignored."""
    monkeypatch.setenv("TESSERA_RATE_LIMIT_LOGIN", "2/minute")
    app = create_app(services=proxied_app.extensions["tessera"], forwarded_allow_ips=PROXY)

    def fail_sign_in(peer, forwarded_for):
        return app.test_client().post("/login", data={"username": f"u-{forwarded_for}", "password": "x"},
                                      headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": peer})
    assert [fail_sign_in(PROXY, "203.0.113.5").status_code for _ in range(3)] == [400, 400, 429]
    assert fail_sign_in(PROXY, "203.0.113.6").status_code == 400          # another client behind the proxy
    assert [fail_sign_in(STRANGER, f"198.51.100.{n}").status_code for n in range(3)] == [400, 400, 429]


def test_sign_in_over_plain_http_from_a_lan_address_works_and_warns_once(services, caplog):
    app = create_app(services=services)
    browser = app.test_client()
    lan = {"REMOTE_ADDR": LAN}
    with caplog.at_level(logging.WARNING, logger="tessera.web"):
        page = browser.get("/login", base_url="http://192.168.1.5:5000", environ_base=lan)
        assert not is_secure(session_cookie(page))   # so the browser sends it back over HTTP
        r = browser.post("/login", base_url="http://192.168.1.5:5000", environ_base=lan,
                         data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": "admin",
                               "password": ADMIN_PASSWORD})
        assert r.status_code == 302, r.get_data(as_text=True)
        assert not is_secure(session_cookie(r))
        assert browser.get("/app/", base_url="http://192.168.1.5:5000", environ_base=lan).status_code == 200
        setup = browser.get("/setup/", base_url="http://192.168.1.5:5000", environ_base=lan)
        assert setup.status_code == 200   # the setup app shares the session and its cookie rules
    warnings = [r.getMessage() for r in caplog.records if "plain HTTP" in r.getMessage()]
    assert len(warnings) == 1 and LAN in warnings[0] and "TLS proxy" in warnings[0]


def test_loopback_https_and_health_probes_do_not_warn(services, caplog):
    app = create_app(services=services)
    with caplog.at_level(logging.WARNING, logger="tessera.web"):
        app.test_client().get("/login", environ_base={"REMOTE_ADDR": "127.0.0.1"})
        app.test_client().get("/login", base_url="https://crm.example.com", environ_base={"REMOTE_ADDR": LAN})
        app.test_client().get("/healthz", environ_base={"REMOTE_ADDR": LAN})   # a load balancer's probe
    assert not [r for r in caplog.records if "plain HTTP" in r.getMessage()]


@pytest.mark.parametrize("value", ["nonsense", "10.0.0.1, 300.1.1.1", "10.0.0.0/33"])
def test_a_bad_proxy_list_stops_the_app_with_the_setting_named(services, value):
    with pytest.raises(EnvironmentSettingError, match="TESSERA_FORWARDED_ALLOW_IPS"):
        create_app(services=services, forwarded_allow_ips=value)


def test_the_retired_insecure_cookies_setting_only_warns(services, monkeypatch, caplog):
    monkeypatch.setenv("TESSERA_INSECURE_COOKIES", "1")
    with caplog.at_level(logging.WARNING):
        app = create_app(services=services)
    assert any("TESSERA_INSECURE_COOKIES is no longer used" in r.getMessage() for r in caplog.records)
    r = app.test_client().get("/login", base_url="https://localhost")
    assert is_secure(session_cookie(r))     # it no longer turns Secure off over HTTPS
