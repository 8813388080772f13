"""Setup UI test helpers: a signed-in HTTPS test client and the review → confirm round trip."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

BASE = "https://localhost"
REFERER = {"Referer": "https://localhost/setup/"}


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    return m.group(1)


class Browser:
    """A Flask test client over HTTPS with a signed-in session and CSRF tokens handled."""

    def __init__(self, client):
        self.client = client
        self._token = None

    def login(self, username, password):
        page = self.client.get("/login", base_url=BASE).get_data(as_text=True)
        r = self.client.post("/login", base_url=BASE, headers={"Referer": "https://localhost/login"},
                             data={"csrf_token": csrf_of(page), "username": username, "password": password})
        assert r.status_code == 302, r.get_data(as_text=True)
        self._token = None
        return self

    @property
    def token(self):
        if self._token is None:
            self._token = csrf_of(self.client.get("/login", base_url=BASE, follow_redirects=True).get_data(as_text=True))
        return self._token

    def get(self, url, **kw):
        return self.client.get(url, base_url=BASE, **kw)

    def post(self, url, data=None, *, csrf=True, **kw):
        items = MultiDict(data or {})
        if csrf:
            items["csrf_token"] = self.token
        return self.client.post(url, base_url=BASE, headers=REFERER, data=items, **kw)

    def change(self, url, data, *, allow_destructive=False, expect_review=200):
        """POST a setup form: the change pipeline's plan comes back for review; confirm it.
        Returns (review response, confirm response)."""
        review = self.post(url, data)
        html = review.get_data(as_text=True)
        assert review.status_code == expect_review, _errors(html)
        fields = confirm_fields(html)
        assert fields, "no confirmation form in:\n" + html[:4000]
        if allow_destructive:
            fields.append(("_allow_destructive", "1"))
        done = self.client.post(url, base_url=BASE, headers=REFERER, data=MultiDict(fields))
        return review, done


def _errors(html: str) -> str:
    """The error messages of a page (for assertion messages)."""
    found = re.findall(r'<div class="alert alert-danger[^"]*"[^>]*>(.*?)</div>|<div class="invalid-feedback[^"]*"[^>]*>(.*?)</div>',
                       html, re.S)
    text = " | ".join(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", a or b)).strip() for a, b in found)
    return text or html[:3000]


class _ConfirmForm(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inside = False
        self.fields = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "confirm-change":
            self.inside = True
        elif tag == "input" and self.inside and a.get("name") and a.get("type") in ("hidden", None, "text"):
            self.fields.append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def confirm_fields(html: str) -> list[tuple[str, str]]:
    parser = _ConfirmForm()
    parser.feed(html)
    return parser.fields
