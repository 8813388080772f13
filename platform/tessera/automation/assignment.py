"""Who gets a record: the `assign_owner` action's choice of a member of a queue or a group.

round_robin  members in a stable order (by user id), each assignment taking the one after the
             member this workflow step assigned last. The cursor is a platform row per step, locked
             (FOR UPDATE on PostgreSQL; SQLite's one writer serializes) and moved in the write's
             own transaction: a rolled-back write does not use up a turn.
least_busy   the member owning the fewest of the object's records that `busy_filter` selects (the
             expression language, compiled by the record service's query); ties go to member order.

Members are read through the record service (as the system, inside the write's transaction);
inactive users never get records.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..security.actor import SYSTEM
from ..storage.platform_tables import assignment_cursors


def queue_members(records, queue_name: str) -> tuple[list[uuid.UUID], str | None]:
    """Active members of the queue in a stable order, or ([], why not)."""
    return pool_members(records, "queue", queue_name)


def pool_members(records, kind: str, name: str) -> tuple[list[uuid.UUID], str | None]:
    """Active members of a queue or a group (the core objects `queue`/`queue_member` and
    `group`/`group_member`, alike in shape) in a stable order, or ([], why not)."""
    pool = records.find_by(SYSTEM, kind, "name", name)
    if pool is None:
        return [], f"there is no {kind} named '{name}'"
    members = records.find_all_by(SYSTEM, f"{kind}_member", kind, uuid.UUID(pool["id"]),
                                  fields=["user", "user.active"])
    active = sorted({uuid.UUID(m["user"]) for m in members if m["user"] and m["user.active"] is not False},
                    key=lambda u: u.int)
    return active, None if active else f"{kind} '{name}' has no active member"


def round_robin(conn, key: str, members: list[uuid.UUID]) -> uuid.UUID:
    t = assignment_cursors
    last = conn.execute(select(t.c.last_user).where(t.c.key == key).with_for_update()).scalar()
    after = [m for m in members if last is not None and m.int > last.int]
    chosen = after[0] if after else members[0]
    now = datetime.now(timezone.utc)
    if last is not None:
        conn.execute(update(t).where(t.c.key == key).values(last_user=chosen, updated_at=now))
    else:   # the step's first assignment; a concurrent first one may have made the row meanwhile
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t).values(key=key, last_user=chosen, updated_at=now)
        conn.execute(stmt.on_conflict_do_update(index_elements=[t.c.key],
                                                set_={"last_user": chosen, "updated_at": now}))
    return chosen


def least_busy(records, object_name: str, members: list[uuid.UUID], busy_filter: str | None) -> uuid.UUID:
    def load(member):
        # a canonical UUID is hex and dashes only: safe inside a text literal of the expression
        condition = f"owner == '{member}'" + (f" and ({busy_filter})" if busy_filter else "")
        return records.query(SYSTEM, object_name, filter=condition, fields=["id"], limit=1, count=True).total
    return min(members, key=lambda m: (load(m), members.index(m)))
