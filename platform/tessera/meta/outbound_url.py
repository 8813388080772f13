"""What a URL of outgoing automation (webhooks, HTTP actions) must look like — checked when the
metadata is validated and again before every request (automation/outbound.py, which also refuses
private addresses at send time, once the host is resolved)."""
from __future__ import annotations

from urllib.parse import urlsplit

MAX_URL = 2000


def url_problem(url) -> str | None:
    """Why `url` is not a URL automation may call (None when it is): http(s), a host, no user
    name or password in it (secrets belong in named credentials), no fragment, no spaces."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        return f"a URL is a text of at most {MAX_URL} characters"
    if any(c.isspace() for c in url):
        return f"'{url}' contains spaces"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"'{url}' is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"'{url}' is not an http or https URL"
    if not parts.hostname:
        return f"'{url}' has no host"
    if parts.username is not None or parts.password is not None:
        return "a URL must not carry a user name or password: keep secrets in named credentials"
    if parts.fragment:
        return f"'{url}' has a fragment (#…), which is never sent"
    if port == 0:
        return f"'{url}' has port 0"
    return None
