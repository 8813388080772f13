"""The change pipeline's data checks for approval processes (a guard, registered by Services.open):

* a process that still has pending requests cannot be removed (or moved to another object):
  recall or decide them first — a pending request must always find its process;
* the users, queues and groups a change newly names as approvers exist (users: active). They are
  records, not metadata, so semantic validation cannot see them; an entry the previous version
  already had is not checked again (a user deactivated since does not block unrelated changes —
  at run time that entry simply gives nobody).

Each reason names the process's file and the path of the entry, like a validation error.
"""
from __future__ import annotations

from sqlalchemy import MetaData, func, select

from ..storage.platform_tables import approval_requests
from ..storage.tables import build_table

_NAMED = {"user": ("user", "username"), "queue": ("queue", "name"), "group": ("group", "name")}


def approval_guard(conn, old_md, new_md) -> list[str]:
    old = dict(old_md.approval_processes) if old_md is not None else {}
    new = dict(new_md.approval_processes)
    if not old and not new:
        return []
    reasons = []
    for name, comp in old.items():
        after = new.get(name)
        if after is not None and after["object"] == comp["object"]:
            continue
        r = approval_requests
        pending = conn.execute(select(func.count()).select_from(r).where(r.c.process == name,
                                                                         r.c.status == "pending")).scalar_one()
        if pending:
            reasons.append(f"{comp.source}: approval process '{name}' has {pending} pending request"
                           f"{'s' if pending != 1 else ''}: recall or decide {'them' if pending != 1 else 'it'} "
                           "before removing it or changing its object")
    tables: dict = {}
    for name, comp in new.items():
        before = old.get(name)
        known = {(a["type"], a.get(a["type"])) for step in (before["steps"] if before is not None else ())
                 for a in step["approvers"]}
        for i, step in enumerate(comp["steps"]):
            for k, approver in enumerate(step["approvers"]):
                kind = approver["type"]
                if kind not in _NAMED or (kind, approver[kind]) in known:
                    continue
                if not _exists(conn, old_md, new_md, tables, kind, approver[kind]):
                    what = "active user" if kind == "user" else f"{kind} named"
                    reasons.append(f"{comp.source}: steps.{i}.approvers.{k}.{kind}: there is no {what} "
                                   f"'{approver[kind]}'")
    return reasons


def _exists(conn, old_md, new_md, tables, kind: str, value: str) -> bool:
    object_name, column = _NAMED[kind]
    if old_md is None or object_name not in old_md.objects or object_name not in new_md.objects:
        return False   # its table is made by this very change: it holds nobody yet
    table = tables.get(object_name)
    if table is None:
        table = tables[object_name] = build_table(old_md.objects[object_name], MetaData())
    stmt = select(table.c.id).where(table.c[column] == value)
    if kind == "user":
        stmt = stmt.where(table.c.active.is_not(False))
    return conn.execute(stmt.limit(1)).first() is not None
