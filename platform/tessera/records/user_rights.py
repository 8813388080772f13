"""Guards on the records that decide who may do what: users and their permission set assignments.

The record service calls these on every write (REST API, setup UI, CLI, CSV import, bulk), so no
path can get around them:

- users are never deleted (their records keep an owner): deactivate them instead — 409
  `user_delete_forbidden`;
- nobody deactivates or demotes themselves: their own active flag, profile or role, and their
  own permission set assignments, are changed by another administrator — 409 `self_demotion`;
- no write may leave the org without an active user holding both `customize_metadata` and
  `manage_users` — 409 `last_administrator`. Checked after the write, on its transaction, and only
  when the write took those rights from someone who had them (an org that has no such user — a
  package without these permissions — is not blocked). PostgreSQL: a transaction-level advisory
  lock serializes these checks, so two admins demoting each other at once cannot both succeed;
- profile, role, permission set and permission set group names must exist in the active metadata,
  and usernames must be printable without surprises — 422 naming the field;
- profile, role or active changes end the user's browser sessions (security/sessions.py), in the
  write's transaction; deactivation also revokes their API tokens.
"""
from __future__ import annotations

import unicodedata

from sqlalchemy import or_, select, text, true

from ..currency import personal
from ..security import sessions
from .errors import Conflict

ADMIN_PERMISSIONS = ("customize_metadata", "manage_users")
_ADVISORY_LOCK = 7_301_451_118   # any constant: the key of the "last administrator" check's lock


class Refused(Conflict):
    """409 with its own machine-readable code (the change is valid input but not allowed)."""

    def __init__(self, code: str, message: str, **kw):
        super().__init__(message, **kw)
        self.code = code


# -- input checks (422) ------------------------------------------------------------------------
def username_problem(value) -> str | None:
    if not isinstance(value, str):
        return None
    if value != value.strip():
        return "cannot start or end with whitespace"
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"cannot contain control characters (U+{ord(ch):04X})"
        if category == "Cf":
            return f"cannot contain invisible formatting characters (U+{ord(ch):04X})"
    return None


def check_values(md, object_name: str, values: dict, errors: dict, *, changed=None) -> None:
    """Names in a user or assignment row must exist in the active metadata; usernames must be
    clean. `changed`: on update, the fields the write sets (only those are checked)."""
    def check(name):
        return name in values and (changed is None or name in changed) and name not in errors

    if object_name == "user":
        if check("username"):
            problem = username_problem(values["username"])
            if problem:
                errors["username"] = [problem]
        if check("profile") and values["profile"] is not None and values["profile"] not in md.profiles:
            errors["profile"] = [f"there is no profile '{values['profile']}' in the active metadata"]
        if check("role") and values["role"] is not None and values["role"] not in md.roles:
            errors["role"] = [f"there is no role '{values['role']}' in the active metadata"]
        if check(personal.USER_FIELD):
            problem = personal.refusal(md.org_settings, values[personal.USER_FIELD])
            if problem:
                errors[personal.USER_FIELD] = [problem]
    elif object_name == "permission_set_assignment":
        kind = values.get("kind") or "permission_set"
        name = values.get("permission_set")
        if (check("permission_set") or check("kind")) and name is not None and "permission_set" not in errors:
            known = md.permission_set_groups if kind == "permission_set_group" else md.permission_sets
            if name not in known:
                what = "permission set group" if kind == "permission_set_group" else "permission set"
                errors["permission_set"] = [f"there is no {what} '{name}' in the active metadata"]


# -- write guards (409) ------------------------------------------------------------------------
def before_delete(actor, object_name: str, current) -> None:
    if object_name == "user":
        raise Refused("user_delete_forbidden", "users cannot be deleted (their records keep them as owner): "
                      "deactivate the user instead (set active to false)", details={"instead": "deactivate"})
    if object_name == "permission_set_assignment" and _is_self(actor, current.get("user")):
        raise Refused("self_demotion", "you cannot remove your own permission sets: ask another administrator")


def check_update(actor, object_name: str, current, changes: dict) -> None:
    """Refuse a change of one's own rights (before the write)."""
    if object_name == "user" and _is_self(actor, current["id"]):
        if "active" in changes and changes["active"] is False and current.get("active") is not False:
            raise Refused("self_demotion", "you cannot deactivate yourself: ask another administrator",
                          fields={"active": ["you cannot deactivate yourself"]})
        for name in ("profile", "role"):
            if name in changes and changes[name] != current.get(name):
                raise Refused("self_demotion", f"you cannot change your own {name}: ask another administrator",
                              fields={name: [f"you cannot change your own {name}"]})
    elif object_name == "permission_set_assignment":
        moved = any(k in changes and changes[k] != current.get(k) for k in ("user", "permission_set", "kind"))
        if moved and _is_self(actor, current.get("user")):
            raise Refused("self_demotion", "you cannot change your own permission sets: ask another administrator")


def user_of(object_name: str, current):
    return current["id"] if object_name == "user" else current.get("user")


def is_admin(conn, rt, user_id) -> bool:
    """Whether `user_id` is an active user holding every ADMIN_PERMISSIONS right (as of `conn`)."""
    if user_id is None or "user" not in rt.objects:
        return False
    users = rt.objects["user"].table
    row = conn.execute(select(users.c.profile, users.c.active).where(users.c.id == user_id)).first()
    if row is None or row.active is False:
        return False
    sets, groups = _assignments(conn, rt, [user_id]).get(user_id, ((), ()))
    return _holds(rt, row.profile, sets, groups)


def after_write(conn, rt, actor, object_name: str, current, changes: dict | None, was_admin: bool) -> None:
    """After a user or assignment write (changes None: a delete): end sessions when rights changed,
    revoke tokens on deactivation, and keep one administrator."""
    if object_name == "user" and changes is not None:
        rights_changed = any(k in changes and changes[k] != current.get(k) for k in ("profile", "role", "active"))
        if rights_changed:
            sessions.bump(conn, current["id"])
        if changes.get("active") is False and current.get("active") is not False:
            sessions.revoke_tokens(conn, current["id"])
    if was_admin:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        if not _admin_exists(conn, rt):
            raise Refused("last_administrator", "this change would leave no active user with both "
                          "customize_metadata and manage_users: give another user these rights first",
                          details={"permissions": list(ADMIN_PERMISSIONS)})


def _is_self(actor, user_id) -> bool:
    return actor.user_id is not None and user_id is not None and str(actor.user_id) == str(user_id)


def _holds(rt, profile, sets, groups) -> bool:
    rights = rt.security.rights_cache.rights(profile, sets, groups)
    return all(rights.system(p) for p in ADMIN_PERMISSIONS)


def _assignments(conn, rt, user_ids=None) -> dict:
    """user id -> (permission sets, permission set groups)."""
    if "permission_set_assignment" not in rt.objects:
        return {}
    a = rt.objects["permission_set_assignment"].table
    stmt = select(a.c.user, a.c.permission_set, a.c.kind)
    if user_ids is not None:
        stmt = stmt.where(a.c.user.in_(user_ids))
    out: dict = {}
    for user, name, kind in conn.execute(stmt):
        sets, groups = out.setdefault(user, ([], []))
        (groups if kind == "permission_set_group" else sets).append(name)
    return out


def _admin_exists(conn, rt) -> bool:
    users = rt.objects["user"].table
    active = or_(users.c.active.is_(None), users.c.active == true())
    admin_profiles = [name for name in rt.metadata.profiles if _holds(rt, name, (), ())]
    if admin_profiles and conn.execute(select(users.c.id).where(active, users.c.profile.in_(admin_profiles))
                                       .limit(1)).first() is not None:
        return True
    # rights from permission sets: only users who have some assignment can hold them that way
    by_user = _assignments(conn, rt)
    if not by_user:
        return False
    profiles = dict(conn.execute(select(users.c.id, users.c.profile).where(active, users.c.id.in_(list(by_user)))).all())
    return any(_holds(rt, profiles[uid], sets, groups) for uid, (sets, groups) in by_user.items() if uid in profiles)


_SECURITY_KINDS = ("profiles", "permission_sets", "permission_set_groups")


def keeps_an_administrator(conn, old_md, new_md) -> list[str]:
    """A change-pipeline guard: a metadata change (a profile or permission set edit) may not take
    customize_metadata or manage_users from the last active users holding both — the same rule
    record writes follow (after_write). An org that had no such user is not blocked."""
    if old_md is None or "user" not in new_md.objects or all(
            {n: dict(c.doc) for n, c in getattr(old_md, kind).items()} ==
            {n: dict(c.doc) for n, c in getattr(new_md, kind).items()} for kind in _SECURITY_KINDS):
        return []
    from ..runtime import Runtime   # the versions' rights, compiled as the Runtime compiles them
    if not _admin_exists(conn, Runtime(old_md)) or _admin_exists(conn, Runtime(new_md)):
        return []
    return ["this change would leave no active user with both " + " and ".join(ADMIN_PERMISSIONS) +
            ": keep those rights in an administrator's profile or permission set"]
