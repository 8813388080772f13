"""Error answers outside /app: an HTML page for browsers (404, 403, 405, 413, 500), JSON for the
API and for clients that ask for JSON; the favicon."""
from __future__ import annotations

import pytest

from tessera.web.app import create_app
from ui_helpers import BASE

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def _is_page(r, status, title):
    assert r.status_code == status
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert f">{status}<" in html and title in html and "Go to the home page" in html
    assert "Traceback" not in html
    assert 'rel="icon"' in html
    return html


def test_a_browser_gets_an_html_404_page_and_a_client_asking_json_gets_json(app):
    c = app.test_client()
    _is_page(c.get("/no-such-page", base_url=BASE, headers=BROWSER), 404, "Page not found")
    r = c.get("/no-such-page", base_url=BASE, headers=JSON)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    # */* (curl, scripts) and no Accept at all keep JSON
    for headers in ({"Accept": "*/*"}, {}):
        assert c.get("/no-such-page", base_url=BASE, headers=headers).get_json()["error"]["code"] == "not_found"
    # JSON ranked above HTML wins
    r = c.get("/no-such-page", base_url=BASE, headers={"Accept": "text/html;q=0.5, application/json"})
    assert r.mimetype == "application/json"


def test_the_api_always_answers_json_even_to_a_browser(app):
    c = app.test_client()
    for url in ("/api/v1/no-such-thing", "/api/v1/objects/no_such_object/records"):
        r = c.get(url, base_url=BASE, headers=BROWSER)
        assert r.mimetype == "application/json" and r.status_code in (401, 404)
        assert r.get_json()["error"]["code"]


def test_a_405_page_keeps_the_allow_header(app):
    c = app.test_client()
    r = c.put("/login", base_url=BASE, headers=BROWSER)
    _is_page(r, 405, "Not allowed here")
    assert "POST" in r.headers["Allow"] and "GET" in r.headers["Allow"]
    r = c.put("/login", base_url=BASE, headers=JSON)
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed" and r.headers["Allow"]


def test_a_too_large_request_gets_a_413_page(services):
    c = create_app(services=services, config={"MAX_CONTENT_LENGTH": 1024}).test_client()
    body = {"username": "x" * 4096, "password": "y"}
    html = _is_page(c.post("/login", base_url=BASE, headers=BROWSER, data=body), 413, "Too large")
    assert "Nothing was saved" in html
    r = c.post("/login", base_url=BASE, headers=JSON, data=body)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"


def test_an_unexpected_error_gets_a_500_page_without_details(app, monkeypatch):
    def broken():
        raise RuntimeError("secret internals")
    monkeypatch.setitem(app.view_functions, "auth.home", broken)
    c = app.test_client()
    html = _is_page(c.get("/", base_url=BASE, headers=BROWSER), 500, "Something went wrong")
    assert "secret internals" not in html
    assert 'id="request-reference"' in html          # the id the log line and audit entries carry
    r = c.get("/", base_url=BASE, headers=JSON)
    assert r.status_code == 500 and r.get_json()["error"] == {"code": "internal_error",
                                                            "message": "an internal error occurred",
                                                            "request_id": r.headers["X-Request-Id"]}


def test_403_pages_in_the_app_and_in_setup_are_html(app, login):
    viewer = login("viewer")
    r = viewer.get("/setup/", headers=BROWSER)
    assert r.status_code == 403 and r.mimetype == "text/html" and "access" in r.get_data(as_text=True)
    r = viewer.get("/app/_no_such_app/", headers=BROWSER)
    assert r.status_code in (403, 404) and r.mimetype == "text/html"


def test_the_favicon_is_served_and_linked(app, login):
    c = app.test_client()
    r = c.get("/favicon.ico", base_url=BASE)
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert r.get_data(as_text=True).startswith("<svg")
    assert c.get("/static/favicon.svg", base_url=BASE).status_code == 200
    assert 'rel="icon"' in c.get("/login", base_url=BASE).get_data(as_text=True)
    admin = login("admin")
    for url in ("/app/", "/setup/"):
        assert 'rel="icon"' in admin.html(url)


@pytest.mark.parametrize("url", ["/setup/no-such-page", "/app/no-such-app/nothing"])
def test_unknown_pages_under_app_and_setup_are_html_for_browsers(login, url):
    r = login("admin").get(url, headers=BROWSER)
    assert r.status_code == 404 and r.mimetype == "text/html"


