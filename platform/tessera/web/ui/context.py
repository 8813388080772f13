"""The `/app` blueprint, per-request state (actor, Runtime, Access, user preferences) and errors.

One Runtime per request: every helper reads `g.ui_rt`, so a page never mixes two metadata versions
when an admin saves a change mid-request.
"""
from __future__ import annotations

from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ...records.errors import RecordError
from ..auth import current_actor

ui = Blueprint("ui", __name__)

API_PREFIX = "/app/_api/"


def services():
    return current_app.extensions["tessera"]


def records():
    return services().records


def actor():
    return g.actor


def rt():
    return g.ui_rt


def access():
    return g.ui_access


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


@ui.before_request
def _authenticate():
    who = current_actor()
    if who is None:
        if is_api_request():
            return jsonify(error={"code": "unauthorized", "message": "sign in first"}), 401
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login_form", next=target))
    g.ui_rt = services().runtimes.current()
    g.ui_access = g.ui_rt.security.access_for(who)
    return None


@ui.context_processor
def _globals():
    return {"ui_user": user_info if "ui_rt" in g else None}


# -- the signed-in user's own record: name, time zone --------------------------------------------
def user_info() -> dict:
    """Name and time zone of the signed-in user, read once per request through the record service
    (every stock profile may read users; without that right the user simply sees UTC)."""
    if "ui_user_info" in g:
        return g.ui_user_info
    info = {"username": g.actor.username, "full_name": g.actor.username, "time_zone": "UTC",
            # Setup opens for either right (web/setup/app.py): offer its link exactly then.
            "can_setup": g.ui_access.system("customize_metadata") or g.ui_access.system("manage_users")}
    try:
        access_ = g.ui_access
        fields = [f for f in ("full_name", "time_zone", "locale", "email")
                  if "user" in g.ui_rt.metadata.objects and f in g.ui_rt.metadata.objects["user"].fields
                  and access_.can_read_field("user", f)]
        if fields and g.actor.user_id and access_.can("user", "read"):
            rec = records().get(g.actor, "user", g.actor.user_id, fields=fields)
            info.update({k: v for k, v in rec.items() if k in fields and v})
    except RecordError:
        pass
    g.ui_user_info = info
    return info


def user_locale() -> str:
    """The signed-in user's locale (`en_US`, `fr_FR`…) for dates: their own, else en_US."""
    if "ui_locale" not in g:
        from babel import Locale, UnknownLocaleError
        chosen = user_info().get("locale") or "en_US"
        try:
            Locale.parse(chosen)
        except (UnknownLocaleError, ValueError, TypeError):
            chosen = "en_US"
        g.ui_locale = chosen
    return g.ui_locale


def user_tz() -> ZoneInfo:
    if "ui_tz" not in g:
        try:
            g.ui_tz = ZoneInfo(user_info()["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, KeyError):
            g.ui_tz = ZoneInfo("UTC")
    return g.ui_tz


def safe_return(target: str | None, default: str) -> str:
    """Only same-site relative paths under /app (no open redirects)."""
    if target and target.startswith("/app") and not target.startswith("//") and not urlparse(target).netloc \
            and "\\" not in target:
        return target
    return default


# -- errors -----------------------------------------------------------------------------------
_TITLES = {400: "Something is wrong with the request", 403: "You don't have access",
           404: "Not found", 405: "Not allowed", 409: "Conflict", 412: "Changed by someone else",
           413: "Too large", 422: "Not saved", 500: "Something went wrong"}


def error_page(status: int, message: str):
    if is_api_request():
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(status, "error")
        return jsonify(error={"code": code, "message": message}), status
    nav = {}
    if "ui_rt" in g:
        try:
            from .views_nav import nav_context
            nav = nav_context()
        except Exception:  # noqa: BLE001 - an error page must render even if navigation cannot
            nav = {}
    return render_template("app/error.html", status=status, title=_TITLES.get(status, "Error"),
                           message=message, **nav), status


@ui.errorhandler(RecordError)
def _record_error(exc: RecordError):
    if is_api_request():
        return jsonify(error=exc.to_dict()), exc.status
    return error_page(exc.status, exc.message)


@ui.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    if is_api_request():
        return jsonify(error={"code": "csrf_failed", "message": exc.description}), 400
    return error_page(400, "Your session's security token is missing or expired. Go back, reload "
                           "the page and try again.")


@ui.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_page(exc.code or 500, exc.description or "")


def not_found(message: str = "The page you asked for does not exist."):
    abort(404, description=message)


def forbidden(message: str = "You don't have permission to see this page."):
    abort(403, description=message)
