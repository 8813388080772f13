"""Security headers on every response of the web app: the main app (/, /login, /app, /api) and the
setup app mounted at /setup (its own Flask app: web/setup/) call the same `add_security_headers`.

Defence in depth: autoescaping is the protection against injected markup; the CSP makes an escaping
slip inert (no inline scripts anywhere: /setup's Flask-Admin handlers are bound by setup.js), and
`frame-ancestors 'none'` with X-Frame-Options stops clickjacking (no page of ours is ever framed).
Inline styles stay allowed: Bootstrap's and Flask-Admin's markup uses `style=` attributes.
"""
from __future__ import annotations

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
_NEVER_STORED = {"text/html", "application/json"}   # pages and API answers carry per-user data


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype in _NEVER_STORED:
        headers.setdefault("Cache-Control", "no-store")
    return response
