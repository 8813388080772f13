"""Browser sign-in: login and logout with a session cookie (HttpOnly, SameSite=Lax, Secure when the
request came over HTTPS: web/proxies.py), CSRF on every form (Flask-WTF), lockout after repeated
failures (IdentityService.sign_in: throttled per address and username, 429 with Retry-After).
Sessions are revocable: the cookie keeps the session generation it signed in with, checked on every
request (security/sessions.py); logout ends every session of the user. State never changes over
GET: logout is a POST.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlparse

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from ..security import audit

auth = Blueprint("auth", __name__)


def services():
    return current_app.extensions["tessera"]


def current_actor():
    """The signed-in user's Actor for this request, or None (also for inactive users)."""
    if "actor" in g:
        return g.actor
    user_id = session.get("user_id")
    actor = None
    if user_id:
        try:
            actor = services().identity.actor_for_session(uuid.UUID(user_id), session.get("gen"))
        except (ValueError, TypeError, AttributeError):
            actor = None
        if actor is None:
            session.clear()
    g.actor = actor
    return actor


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect would make a phishing link of our login."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("auth.home")


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


@auth.get("/login")
def login_form():
    if current_actor() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""), error=None, username="")


@auth.post("/login")
def login():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    result = services().identity.sign_in(username, password, address=request.remote_addr or "unknown")
    if result.actor is None:
        if result.retry_after:
            message = f"Too many failed attempts: try again in {_duration(result.retry_after)}."
            response = current_app.make_response((render_template(
                "login.html", next=request.form.get("next", ""), error=message, username=username), 429))
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        return render_template("login.html", next=request.form.get("next", ""), error="Wrong username or password.",
                               username=username), 401
    session.clear()  # a fresh session on sign-in: no fixation
    session["user_id"] = str(result.actor.user_id)
    session["gen"] = result.session_generation
    session.permanent = True
    return redirect(_safe_next(request.form.get("next")))


@auth.post("/logout")
def logout():
    actor = current_actor()
    if actor is not None:
        audit.record_now(services().engine, actor, "logout", actor.username)
        services().identity.end_sessions(actor.user_id)   # a copied cookie stops working too
    session.clear()
    return redirect(url_for("auth.login_form"))


@auth.get("/")
def home():
    actor = current_actor()
    if actor is None:
        return redirect(url_for("auth.login_form"))
    return redirect(url_for("ui.launcher"))  # the end-user app launcher (web/ui)
