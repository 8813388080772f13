"""Security headers on every response of the web app: the main app (/, /login, /app, /api) and the
setup app mounted at /setup (its own Flask app: web/setup/) call the same `add_security_headers`.

Defence in depth: autoescaping is the protection against injected markup; the CSP makes an escaping
slip inert (no inline scripts anywhere: /setup's Flask-Admin handlers are bound by setup.js), and
`frame-ancestors 'none'` with X-Frame-Options stops clickjacking (no page of ours is ever framed).
Inline styles stay allowed: Bootstrap's and Flask-Admin's markup uses `style=` attributes.
Pictures load from the app itself; an operator may add origins for IMAGE() formulas whose urls
point elsewhere (TESSERA_IMAGE_SOURCES).

HSTS only on answers to HTTPS requests (directly or through a trusted proxy: web/proxies.py): sent
over plain HTTP it is ignored by browsers (RFC 6797), and a deployment still on HTTP — a LAN
address, 127.0.0.1 — must not be told to insist on HTTPS it does not have.
"""
from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from flask import request

from ..environment import EnvironmentSettingError

_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:{images}; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'")
CSP = _CSP.format(images="")
_NEVER_STORED = {"text/html", "application/json"}   # pages and API answers carry per-user data
HSTS = "max-age=31536000"   # a year; no includeSubDomains: other hosts of the domain are not ours to bind
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?")


def image_sources(environ=os.environ) -> tuple[str, ...]:
    """TESSERA_IMAGE_SOURCES: origins (`https://cdn.example.com`, space-separated) pages may load
    pictures from. Anything but a plain http(s) origin is refused: the value goes into the CSP."""
    out = []
    for item in (environ.get("TESSERA_IMAGE_SOURCES") or "").split():
        if not _ORIGIN.fullmatch(item) or not urlsplit(item).hostname:
            raise EnvironmentSettingError(f"TESSERA_IMAGE_SOURCES: {item!r} is not an http(s) origin such as "
                             "https://cdn.example.com (no path, query, wildcard or quotes)")
        out.append(item.rstrip("/"))
    return tuple(out)


def content_security_policy(images: tuple[str, ...] = ()) -> str:
    return _CSP.format(images="".join(" " + origin for origin in images))


def security_headers(csp: str = CSP):
    """An after_request handler setting the security headers with this CSP."""
    def add(response):
        return add_security_headers(response, csp)
    return add


def add_security_headers(response, csp: str = CSP):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", csp)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if response.mimetype in _NEVER_STORED:
        headers.setdefault("Cache-Control", "no-store")
    return response
