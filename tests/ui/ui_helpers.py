"""Helpers for the /app test-client tests (fixtures live in conftest.py): sign in, read the CSRF
token from pages, post forms and JSON with it."""
from __future__ import annotations

import re
import uuid

BASE = "https://localhost"
REFERER = {"Referer": "https://localhost/app/"}   # Flask-WTF checks it over HTTPS, as browsers send it


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "the page has no CSRF token"
    return m.group(1)


class UiClient:
    def __init__(self, app):
        self.c = app.test_client()
        self.token = None

    def login(self, username, password):
        page = self.c.get("/login", base_url=BASE)
        token = csrf_of(page.get_data(as_text=True))
        r = self.c.post("/login", base_url=BASE, headers={"Referer": f"{BASE}/login"},
                        data={"csrf_token": token, "username": username, "password": password, "next": ""})
        assert r.status_code == 302, r.get_data(as_text=True)
        self.token = csrf_of(self.c.get("/app/", base_url=BASE).get_data(as_text=True))
        return self

    def get(self, url, **kw):
        return self.c.get(url, base_url=BASE, **kw)

    def html(self, url, status=200):
        r = self.get(url)
        assert r.status_code == status, (r.status_code, r.headers.get("Location"), r.get_data(as_text=True)[:2000])
        return r.get_data(as_text=True)

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {}) if not isinstance(data, list) else data
        if csrf:
            if isinstance(data, list):
                data = data + [("csrf_token", self.token)]
            else:
                data.setdefault("csrf_token", self.token)
        from werkzeug.datastructures import MultiDict
        return self.c.post(url, base_url=BASE, headers=REFERER, data=MultiDict(data), **kw)

    def patch_json(self, url, body, csrf=True):
        return self.send_json("PATCH", url, body, csrf=csrf)

    def send_json(self, method, url, body=None, csrf=True):
        headers = dict(REFERER)
        if csrf:
            headers["X-CSRFToken"] = self.token
        return self.c.open(url, method=method, base_url=BASE, headers=headers, json=body)


def actor_of(services, user: dict):
    return services.identity.actor_for_user_id(uuid.UUID(user["id"]))
