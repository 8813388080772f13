"""Audit entries for permission changes made through the record service.

Who holds which rights is data, not metadata: a user's profile, role and active flag, their
permission set assignments and their public group memberships (groups are sharing grantees). Every
such change — REST API, setup UI, `tessera user ...`, CSV import — is a record write, so the record
service writes the audit entry here, on the write's own connection: it commits with the change and
disappears with it when the write fails.

    user.create / user.update / user.activate / user.deactivate / user.delete    (subject: username)
    permission_set.assign / permission_set.unassign                            (subject: username)
    group.add_member / group.remove_member                                   (subject: group name)
"""
from __future__ import annotations

from sqlalchemy import select

from ..security import audit

AUDITED = frozenset(("user", "permission_set_assignment", "group_member"))
USER_RIGHTS = ("profile", "role")   # the fields that decide what a user may do and see


def _name_of(conn, rt, object_name: str, field: str, record_id) -> str:
    if record_id is None or object_name not in rt.objects:
        return ""
    table = rt.objects[object_name].table
    return conn.execute(select(table.c[field]).where(table.c.id == record_id)).scalar() or str(record_id)


def _assignment(conn, rt, actor, action: str, row) -> None:
    audit.record(conn, actor, action, _name_of(conn, rt, "user", "username", row.get("user")),
                 {"permission_set": row.get("permission_set"), "kind": row.get("kind")})


def _membership(conn, rt, actor, action: str, row) -> None:
    audit.record(conn, actor, action, _name_of(conn, rt, "group", "name", row.get("group")),
                 {"user": _name_of(conn, rt, "user", "username", row.get("user"))})


def created(conn, rt, actor, object_name: str, rows: list[dict]) -> None:
    for row in rows:
        if object_name == "user":
            audit.record(conn, actor, "user.create", row.get("username") or "",
                         {**{f: row.get(f) for f in USER_RIGHTS}, "active": row.get("active") is not False})
        elif object_name == "permission_set_assignment":
            _assignment(conn, rt, actor, "permission_set.assign", row)
        elif object_name == "group_member":
            _membership(conn, rt, actor, "group.add_member", row)


def updated(conn, rt, actor, object_name: str, before, changes: dict) -> None:
    after = {**before, **changes}
    if object_name == "user":
        rights = {f: {"from": before.get(f), "to": after.get(f)} for f in USER_RIGHTS if before.get(f) != after.get(f)}
        if rights:
            audit.record(conn, actor, "user.update", after.get("username") or "", rights)
        if (before.get("active") is not False) != (after.get("active") is not False):
            audit.record(conn, actor, "user.activate" if after.get("active") is not False else "user.deactivate",
                         after.get("username") or "")
    elif object_name in ("permission_set_assignment", "group_member"):
        keys = ("user", "permission_set", "kind") if object_name == "permission_set_assignment" else ("group", "user")
        if any(before.get(k) != after.get(k) for k in keys):   # moved: one right lost, another gained
            deleted(conn, rt, actor, object_name, before)
            created(conn, rt, actor, object_name, [after])


def deleted(conn, rt, actor, object_name: str, before) -> None:
    if object_name == "user":
        audit.record(conn, actor, "user.delete", before.get("username") or "")
    elif object_name == "permission_set_assignment":
        _assignment(conn, rt, actor, "permission_set.unassign", before)
    elif object_name == "group_member":
        _membership(conn, rt, actor, "group.remove_member", before)
