"""Error answers of the main app outside /app (which renders its own, web/ui/context.py) and
/setup (its own Flask app): an HTML page for browsers, JSON for the API and for clients that ask
for it.

Content negotiation: HTML only when the client names `text/html` itself and ranks it at least as
high as JSON — what every browser's navigation sends. `*/*` (curl, scripts, HTTP libraries) keeps
the JSON answer, as does everything under /api/ whatever it asks for.
"""
from __future__ import annotations

from flask import jsonify, render_template, request

API_PREFIX = "/api/"

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
         429: "too_many_requests", 500: "internal_error"}
TITLES = {400: "Something is wrong with the request", 401: "Please sign in", 403: "You don't have access",
          404: "Page not found", 405: "Not allowed here", 413: "Too large",
          415: "Unsupported content", 429: "Too many requests", 500: "Something went wrong"}
MESSAGES = {404: "The page you asked for does not exist. Check the address, or start again from the home page.",
            405: "This address does not accept that kind of request.",
            413: "What you sent is larger than the server accepts. Nothing was saved.",
            500: "An internal error occurred; nothing was changed. Try again in a moment."}


def wants_html() -> bool:
    if request.path.startswith(API_PREFIX):
        return False
    accept = request.accept_mimetypes
    if not any(mimetype == "text/html" for mimetype, _quality in accept):
        return False
    return accept["text/html"] >= accept["application/json"]


def error_response(status: int, message: str, *, code: str | None = None, generic: bool = False,
                   extra: dict | None = None):
    """The error answer for `status`: JSON `{"error": {"code", "message", **extra}}` or an HTML
    page. `generic`: the message is Werkzeug's stock text, so the page shows a plainer one."""
    code = code or CODES.get(status, "http_error")
    if wants_html():
        if generic or status >= 500:
            message = MESSAGES.get(status, message)
        page = render_template("error.html", status=status, title=TITLES.get(status, "Error"), message=message)
        return page, status
    return jsonify(error={"code": code, "message": message, **(extra or {})}), status
