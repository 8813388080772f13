"""A user's default currency (the core user's `default_currency`, set on /app/settings): the
currency of the multi-currency records they create without naming one, as Salesforce's personal
"Currency" setting. Only an active currency of the org counts; otherwise — and when a user has
none — records take the corporate currency (the `currency_code` field's own default).
"""
from __future__ import annotations

from sqlalchemy import select

USER_FIELD = "default_currency"


def default_currency(conn, rt, actor) -> str | None:
    """The active currency `actor` creates records in, or None (the corporate default applies)."""
    user = rt.objects.get("user")
    if actor.user_id is None or user is None or USER_FIELD not in user.table.c:
        return None
    code = conn.execute(select(user.table.c[USER_FIELD]).where(user.table.c.id == actor.user_id)).scalar()
    return code if code in rt.metadata.org_settings.active_codes else None


def refusal(settings, code) -> str | None:
    """Why `code` cannot be a user's default currency (None: it can, or it is blank)."""
    if code is None or code in settings.active_codes:
        return None
    return f"{code!r} is not an active currency of the org ({', '.join(settings.active_codes)})"


def of_user(records, user_id, settings) -> str | None:
    """The same as default_currency, read through the record service (for forms to preselect it)."""
    from ..security.actor import SYSTEM
    user = records.runtime().metadata.objects.get("user")
    if user_id is None or user is None or USER_FIELD not in user.fields:
        return None
    code = records.get(SYSTEM, "user", user_id, fields=[USER_FIELD]).get(USER_FIELD)
    return code if code in settings.active_codes else None
