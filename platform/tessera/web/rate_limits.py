"""Request rate limits (Flask-Limiter), counted in the database so every worker agrees
(web/rate_limit_storage.py). Configured by the environment:

    TESSERA_RATE_LIMIT_API    default 600/minute  API requests (/api/…) per user and per address
    TESSERA_RATE_LIMIT_LOGIN  default 10/minute   failed sign-ins (POST /login) per address and
                                                  per username

A value is Flask-Limiter's notation — `600/minute`, `10 per minute`, several joined by `;`
(`600/minute;10000/day`) — or `off`. Anything else stops the app (EnvironmentSettingError).

Per user on the API covers per token: a token acts for exactly one user, so one counter per user
limits each of their tokens and all of them together. A request without a valid token is counted
by its address only (it gets a 401 anyway). On sign-in only failures count (anything but the 302
of a success, forged or expired forms included): an office behind one address signing in at nine
never uses up its allowance, while guessing — each guess costs the server a scrypt hash — is cut
off per address and per username within the minute. The sign-in throttle (security/throttle.py)
is the longer brake on top: blocks with backoff per address and username.
The address is the client's, after trusted proxies (web/proxies.py) — never a header an untrusted
client sent.

A 429 answers `{"error": {"code": "rate_limited", "message", "retry_after"}}` (the API's error
shape, web/errors.py), with Retry-After in seconds; a browser's sign-in gets the login page.
"""
from __future__ import annotations

import hashlib
import math
import os
import time

from flask import current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many

from ..environment import EnvironmentSettingError
from . import rate_limit_storage  # noqa: F401  (registers the tessera-db:// storage)
from .errors import error_response, wants_html

DEFAULTS = {"TESSERA_RATE_LIMIT_API": "600/minute", "TESSERA_RATE_LIMIT_LOGIN": "10/minute"}
OFF = "off"


def rate_limit_setting(name: str, environ=os.environ) -> str | None:
    """The limit string of TESSERA_RATE_LIMIT_API or _LOGIN; None when `off`."""
    value = (environ.get(name) or DEFAULTS[name]).strip()
    if value.lower() == OFF:
        return None
    try:
        parse_many(value)
    except ValueError:
        raise EnvironmentSettingError(
            f"{name}: {value!r} is not a rate limit such as 600/minute (an amount per second, minute, "
            "hour or day; several joined by ';'), or 'off'") from None
    return value


def client_address() -> str:
    return "addr:" + (request.remote_addr or "unknown")


def _api_user() -> str:
    from .api import token_actor   # the API resolves the token once per request (cached on g)
    actor = token_actor()
    return f"user:{actor.user_id}" if actor is not None else "user:none"


def _without_token_user() -> bool:
    from .api import token_actor
    return token_actor() is None


def _sign_in_username() -> str:
    name = (request.form.get("username") or "").strip().lower()[:80]
    return "login-user:" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def _not_sign_in() -> bool:
    return request.endpoint != "auth.login" or request.method != "POST"


def _failed(response) -> bool:
    return response.status_code != 302   # a sign-in redirects; anything else is a failure


def install_rate_limits(app, engine) -> Limiter | None:
    """Limits on the API blueprint and the sign-in POST, unless both are `off`. Call before
    CSRFProtect, so floods of forged or expired forms are counted too."""
    api_limit = rate_limit_setting("TESSERA_RATE_LIMIT_API")
    login_limit = rate_limit_setting("TESSERA_RATE_LIMIT_LOGIN")
    if api_limit is None and login_limit is None:
        return None
    limiter = Limiter(client_address, app=app, storage_uri=f"{rate_limit_storage.SCHEME}://",
                      storage_options={"engine": engine}, strategy="fixed-window", key_prefix="tessera",
                      # counting is best-effort: a failed counter write must not fail the request
                      swallow_errors=True, headers_enabled=False)
    from .api import api
    from .auth import auth
    if api_limit is not None:
        limiter.limit(api_limit, key_func=_api_user, exempt_when=_without_token_user)(api)
        limiter.limit(api_limit, key_func=client_address)(api)
    if login_limit is not None:
        for key in (client_address, _sign_in_username):
            limiter.limit(login_limit, key_func=key, exempt_when=_not_sign_in, deduct_when=_failed)(auth)
    app.extensions["tessera_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, rate_limited)
    return limiter


def retry_after_seconds() -> int:
    limiter = current_app.extensions.get("tessera_limiter")
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def rate_limited(exc: RateLimitExceeded):
    wait = retry_after_seconds()
    message = f"too many requests ({exc.description}): try again in {wait} seconds"
    if request.endpoint == "auth.login" and wants_html():
        response = current_app.make_response((render_template(
            "login.html", next=request.form.get("next", ""), username=request.form.get("username", ""),
            error=f"Too many sign-in attempts: try again in {wait} seconds."), 429))
    else:
        response = current_app.make_response(error_response(429, message, code="rate_limited",
                                                            extra={"retry_after": wait}))
    response.headers["Retry-After"] = str(wait)
    return response
