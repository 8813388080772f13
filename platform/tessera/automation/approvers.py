"""Who approves a step: its approver sources resolved to active users, when the step starts.

    user      the user with that username
    manager   the submitter's manager: their Manager field (when that user is active), else the
              active users holding the nearest role above the submitter's in the role hierarchy
              (a sales rep's request goes to the sales managers; with none, up to the VP...)
    queue     the active members of the queue of that name
    group     the active members of the group of that name
    role      the active users holding that role
    field     the user a user lookup of the record points at (owner, account.owner ...)

Users are read through the record service as the system, on the caller's connection (the caller
runs this inside `records.on_connection(conn)`), so the approvers are decided in the same
transaction as the step they start. Inactive users never approve. The result keeps the sources'
order, each user once; with nobody, the reasons say why (for the 422 or the history).
"""
from __future__ import annotations

import uuid

from ..records.errors import NotFound
from ..security.actor import SYSTEM
from . import assignment
from .approval_processes import ApproverSource, Step


def resolve_step(records, ctx, step: Step, submitter: uuid.UUID | None, values: dict) -> tuple[list[uuid.UUID], list[str]]:
    """(approvers, reasons for sources that gave nobody)."""
    found: list[uuid.UUID] = []
    reasons: list[str] = []
    for source in step.approvers:
        users, why = _resolve(records, ctx, source, submitter, values)
        found += users
        if not users and why:
            reasons.append(why)
    return list(dict.fromkeys(found)), reasons


def _resolve(records, ctx, source: ApproverSource, submitter, values) -> tuple[list[uuid.UUID], str | None]:
    kind = source.kind
    if kind == "user":
        user = records.find_by(SYSTEM, "user", "username", source.value)
        if user is None or user.get("active") is False:
            return [], f"there is no active user '{source.value}'"
        return [uuid.UUID(user["id"])], None
    if kind == "manager":
        return _manager(records, ctx.runtime.metadata, submitter)
    if kind == "queue":
        return assignment.queue_members(records, source.value)
    if kind == "group":
        return assignment.pool_members(records, "group", source.value)
    if kind == "role":
        users = _role_holders(records, source.value)
        return users, None if users else f"nobody active holds the role '{source.value}'"
    if kind == "field":
        value = ctx.evaluate(source.expression, values, None)
        if value is None:
            return [], f"the record's {source.value} is blank"
        user_id = uuid.UUID(str(value))
        return ([user_id], None) if _active(records, user_id) else ([], f"the record's {source.value} is not an active user")
    return [], f"unknown approver type '{kind}'"


def _active(records, user_id) -> bool:
    try:
        return records.get(SYSTEM, "user", user_id, fields=["active"]).get("active") is not False
    except NotFound:
        return False


def _role_holders(records, role: str) -> list[uuid.UUID]:
    rows = records.find_all_by(SYSTEM, "user", "role", role, fields=["id", "active"])
    return sorted((uuid.UUID(r["id"]) for r in rows if r["active"] is not False), key=lambda u: u.int)


def _manager(records, md, submitter) -> tuple[list[uuid.UUID], str | None]:
    if submitter is None:
        return [], "the request has no submitting user"
    try:
        user = records.get(SYSTEM, "user", submitter, fields=["manager", "manager.active", "role"])
    except NotFound:
        return [], "the submitter is not a user"
    if user.get("manager") and user.get("manager.active") is not False:
        return [uuid.UUID(user["manager"])], None
    role = user.get("role")
    seen = set()
    parent = _parent(md, role)
    while parent is not None and parent not in seen:   # a cycle is refused by validation; never loop
        seen.add(parent)
        holders = _role_holders(records, parent)
        if holders:
            return holders, None
        parent = _parent(md, parent)
    if not role:
        return [], "the submitter has no active manager and no role"
    return [], f"the submitter has no active manager and nobody active holds a role above '{role}'"


def _parent(md, role: str | None) -> str | None:
    comp = md.roles.get(role) if role else None
    return comp.get("parent") if comp is not None else None


