"""Personal settings (`/app/settings`): the signed-in user's time zone and locale (used for every
date the app shows: display.py), their default currency (of the multi-currency records they create:
currency/personal.py), their password, and their own API tokens.

Time zone, locale and default currency are written through the record service as the platform (SYSTEM), limited to
exactly those fields of the user's own record: they are preferences, not rights, so every user
may set their own — as in Salesforce's personal settings — even when their profile may not edit
user records. The record service still validates them (a locale off the list, an inactive currency
are refused).
Passwords go through IdentityService.change_own_password (current password, policy, sessions);
tokens through the TokenStore, only ever the user's own.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import available_timezones

from flask import flash, redirect, render_template, request, session, url_for

from ...currency.personal import USER_FIELD
from ...records.errors import RecordError
from ...security.actor import SYSTEM
from .context import actor, rt, services, ui, user_info, user_locale
from .display import format_datetime
from .meta import picklist_options
from .views_nav import nav_context

MAX_TOKEN_NAME = 80
TOKEN_DAYS = {"30": 30, "90": 90, "365": 365, "never": None}
_ALL_ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def _picklist(field_name: str) -> list[tuple[str, str]]:
    obj = rt().metadata.objects.get("user")
    field = obj.fields.get(field_name) if obj is not None else None
    return picklist_options(field) if field is not None else []


def _zones() -> list[str]:
    offered = [value for value, _label in _picklist("time_zone")]
    return ["UTC"] + [z for z in offered if z != "UTC"] + [z for z in _ALL_ZONES if z not in offered]


def _tokens():
    now = datetime.now(timezone.utc)
    out = []
    for t in services().identity.tokens.list(actor().user_id):
        state = "revoked" if t.revoked_at else "expired" if t.expires_at and t.expires_at <= now else "active"
        out.append({"id": t.id, "name": t.name or "—", "created": format_datetime(t.created_at),
                    "expires": format_datetime(t.expires_at) if t.expires_at else "never", "state": state})
    return sorted(out, key=lambda t: (t["state"] != "active", t["created"]))


def _currencies() -> list[tuple[str, str]]:
    """The active currencies a user may create records in; [] for a single-currency org (no choice)."""
    settings = rt().metadata.org_settings
    offered = [(c.code, f"{c.code} - {c.label}") for c in settings.currencies if c.active]
    return offered if len(offered) > 1 else []


def _own_default_currency() -> str:
    if USER_FIELD not in rt().metadata.objects["user"].fields:
        return ""
    return services().records.get(SYSTEM, "user", actor().user_id, fields=[USER_FIELD]).get(USER_FIELD) or ""


def _page(status: int = 200, errors: dict | None = None, new_token: str | None = None, values: dict | None = None):
    me = user_info()
    currencies = _currencies()
    can_api = services().runtimes.current().security.access_for(actor()).system("api_access")
    return render_template(
        "app/settings.html", me=me, zones=_zones(), locales=_picklist("locale") or [("en_US", "en_US")],
        time_zone=(values or {}).get("time_zone", me.get("time_zone", "UTC")),
        locale=(values or {}).get("locale", user_locale()), tokens=_tokens(), can_api=can_api,
        currencies=currencies, corporate_currency=rt().metadata.org_settings.corporate_currency,
        default_currency=(values or {}).get(USER_FIELD, _own_default_currency() if currencies else ""),
        new_token=new_token, errors=errors or {}, policy=services().identity.password_policy(),
        sample=format_datetime(datetime.now(timezone.utc)), **nav_context()), status


@ui.get("/settings")
def settings():
    return _page()


@ui.post("/settings/preferences")
def settings_preferences():
    values = {"time_zone": request.form.get("time_zone", "").strip()[:64],
              "locale": request.form.get("locale", "").strip()[:16]}
    errors = {}
    if values["time_zone"] not in set(_zones()):
        errors["time_zone"] = "Choose a time zone from the list."
    if values["locale"] not in {value for value, _label in _picklist("locale")}:
        errors["locale"] = "Choose a locale from the list."
    if USER_FIELD in request.form:       # offered only when the org has several active currencies
        code = request.form[USER_FIELD].strip()[:8]
        values[USER_FIELD] = code or None
        if code and code not in {value for value, _label in _currencies()}:
            errors[USER_FIELD] = "Choose one of the org's active currencies."
    if not errors:
        try:
            services().records.update(SYSTEM, "user", actor().user_id, values)
        except RecordError as exc:
            errors["preferences"] = exc.message
    if errors:
        return _page(422, errors, values=values)
    flash("Your preferences are saved: every date now shows in your time zone and locale.", "success")
    return redirect(url_for("ui.settings"))


@ui.post("/settings/password")
def settings_password():
    new, again = request.form.get("password", ""), request.form.get("password_again", "")
    if new != again:
        return _page(422, {"password_again": "The two new passwords differ."})
    try:
        generation = services().identity.change_own_password(
            actor().user_id, request.form.get("current_password", ""), new, address=request.remote_addr or "unknown")
    except RecordError as exc:
        fields = getattr(exc, "fields", None) or {}
        errors = {name: "; ".join(msgs) for name, msgs in fields.items()} or {"password": exc.message}
        return _page(422, errors)
    session["gen"] = generation   # this browser stays signed in; every other session has ended
    flash("Your password is changed. Other browsers and devices signed in as you were signed out.", "success")
    return redirect(url_for("ui.settings"))


@ui.post("/settings/tokens")
def settings_token_create():
    if not services().runtimes.current().security.access_for(actor()).system("api_access"):
        return _page(403, {"token": "Your profile does not include API access (api_access): ask your administrator."})
    name = request.form.get("name", "").strip()
    days = request.form.get("expires", "90")
    errors = {}
    if not name:
        errors["token_name"] = "Give the token a name, to recognize it later."
    elif len(name) > MAX_TOKEN_NAME or not name.isprintable():
        errors["token_name"] = f"At most {MAX_TOKEN_NAME} printable characters."
    if days not in TOKEN_DAYS:
        errors["token_expires"] = "Choose when the token expires."
    if errors:
        return _page(422, errors)
    _id, token = services().identity.tokens.create(actor().user_id, name=name, expires_in_days=TOKEN_DAYS[days])
    # Shown once, on this answer only (never stored in the session or a redirect).
    return _page(201, new_token=token)


@ui.post("/settings/tokens/<token_id>/revoke")
def settings_token_revoke(token_id):
    mine = {t.id for t in services().identity.tokens.list(actor().user_id)}
    if token_id not in mine:   # someone else's, or none: the same answer
        return _page(404, {"token": "There is no such token of yours."})
    services().identity.tokens.revoke(token_id)
    flash("The token is revoked: it no longer works.", "success")
    return redirect(url_for("ui.settings"))
