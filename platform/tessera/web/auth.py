"""Browser sign-in: login and logout with a session cookie (HttpOnly, SameSite=Lax, Secure unless
turned off for plain-HTTP deployments), CSRF on every form (Flask-WTF), lockout after repeated
failures (IdentityService.authenticate). State never changes over GET: logout is a POST.
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
            actor = services().identity.actor_for_user_id(uuid.UUID(user_id))
        except ValueError:
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


@auth.get("/login")
def login_form():
    if current_actor() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""), error=None, username="")


@auth.post("/login")
def login():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    actor, reason = services().identity.authenticate(username, password)
    if actor is None:
        message = ("Too many failed attempts: this account is locked for 15 minutes."
                   if reason == "locked" else "Wrong username or password.")
        return render_template("login.html", next=request.form.get("next", ""), error=message,
                               username=username), 401
    session.clear()  # a fresh session on sign-in: no fixation
    session["user_id"] = str(actor.user_id)
    session.permanent = True
    return redirect(_safe_next(request.form.get("next")))


@auth.post("/logout")
def logout():
    actor = current_actor()
    if actor is not None:
        audit.record_now(services().engine, actor, "logout", actor.username)
    session.clear()
    return redirect(url_for("auth.login_form"))


@auth.get("/")
def home():
    actor = current_actor()
    if actor is None:
        return redirect(url_for("auth.login_form"))
    return redirect(url_for("ui.launcher"))  # the end-user app launcher (web/ui)
