"""Hierarchies on write: no record below itself, no tree deeper than MAX_DEPTH; UNDER in Python.

A hierarchy is a self-lookup declared `hierarchy: true` (meta.model.FieldDef.is_hierarchy). After a
write sets the field, still inside its transaction, one recursive query walks up from every record
written (`ancestor_chains`) and finds the ones that meet themselves (a cycle) or climb more than
MAX_DEPTH levels; the write is then refused (422 at the field, naming the cycle) and rolled back.
Checking after the write covers every path alike — create, update, bulk create and import — and
cycles made inside one batch (rows pointing at each other).

Concurrency: two writes that together close a cycle (A→B and B→A at once) each see only their own
change. On PostgreSQL a write that sets the field takes a transaction-level advisory lock per
object's hierarchy, so the second waits for the first to commit and then (READ COMMITTED: a new
snapshot per statement) sees its change. The service takes it before any row lock of the write:
otherwise each UPDATE's row lock and the foreign key's KEY SHARE lock on the other row deadlock
(A's update waits for B's row, B's for A's). SQLite has one writer at a time: writes are serialised.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import and_, func, or_, select

from ..expr.hierarchy import MAX_DEPTH, ancestor_chains
from .errors import BulkFailed, ValidationFailed

_CHECKED_AT_ONCE = 1000   # records walked up per query (bound parameters stay well under limits)


def lock(conn, object_name: str) -> None:
    """Serialise hierarchy changes of one object until the transaction ends (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.sha256(f"tessera hierarchy {object_name}".encode()).digest()
        conn.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True))))


def problems(conn, cobj, ids) -> dict:
    """{record id: (message, the cycle's ids or [])} for the written records now in a cycle or too deep."""
    field = cobj.obj.hierarchy_field
    table = cobj.table
    found: dict = {}
    for at in range(0, len(ids), _CHECKED_AT_ONCE):
        chain = ancestor_chains(table, field.name, ids[at:at + _CHECKED_AT_ONCE])
        bad = conn.execute(select(chain.c.start, func.max(chain.c.depth)).where(or_(
            and_(chain.c.depth > 0, chain.c.node == chain.c.start), chain.c.depth > MAX_DEPTH))
            .group_by(chain.c.start)).all()
        for start, depth in bad:
            found[start] = depth
    out = {}
    for n, (start, depth) in enumerate(found.items()):
        if depth > MAX_DEPTH:
            out[start] = (f"would put this {cobj.obj.label.lower()} more than {MAX_DEPTH} levels deep in the "
                          f"{field.label.lower()} hierarchy (at most {MAX_DEPTH} levels)", [])
        elif n >= 10:   # the first few cycles are named; enough to act on
            out[start] = ("would make a cycle (a record below itself)", [])
        else:
            chain = ancestor_chains(table, field.name, [start])
            nodes = [row[0] for row in conn.execute(select(chain.c.node).order_by(chain.c.depth))]
            names = _names(conn, cobj, nodes)
            out[start] = ("would make a cycle: " + " → ".join(names[i] for i in nodes)
                          + " (a record cannot be below itself)", [str(i) for i in nodes])
    return out


def _names(conn, cobj, ids) -> dict:
    """How each record is named in a message: its name (the ids go in the error's `cycle`)."""
    name_field = cobj.obj.name_field
    table = cobj.table
    named = {}
    if name_field and name_field in table.c:
        named = {rid: f"'{name}'" for rid, name in
                 conn.execute(select(table.c.id, table.c[name_field]).where(table.c.id.in_(set(ids))))
                 if name is not None}
    return {i: named.get(i, str(i)) for i in ids}


def check_written(conn, cobj, ids) -> None:
    """After a create or update that set the hierarchy field of `ids`: refuse a cycle or too deep a tree."""
    field = cobj.obj.hierarchy_field
    if field is None or not ids:
        return
    lock(conn, cobj.name)
    found = problems(conn, cobj, list(ids))
    if found:
        message, cycle = next(iter(found.values()))
        raise ValidationFailed(f"{field.name}: {message}", fields={field.name: [message]},
                               details={"cycle": cycle} if cycle else None)


def check_batch(conn, cobj, ids, parents) -> None:
    """After a bulk create: the rows whose hierarchy field is set, checked together; each refused
    row is reported by its index (BulkFailed: nothing is saved)."""
    field = cobj.obj.hierarchy_field
    if field is None:
        return
    index_of = {rid: i for i, (rid, parent) in enumerate(zip(ids, parents)) if parent is not None}
    if not index_of:
        return
    lock(conn, cobj.name)
    found = problems(conn, cobj, list(index_of))
    if found:
        raise BulkFailed([{"index": index_of[rid], "fields": {field.name: [message]}}
                          for rid, (message, _cycle) in sorted(found.items(), key=lambda item: index_of[item[0]])])


def under_resolver(conn, rt):
    """The `under` callback of Compiled.evaluate: is `parent_id` the node (by id or name) or below it?"""
    def under(object_name, field, parent_id, root, by) -> bool:
        cobj = rt.objects[object_name]
        table = cobj.table
        chain = ancestor_chains(table, field, [parent_id])
        node = table.alias()
        match = node.c[cobj.obj.name_field] == root if by == "name" else node.c.id == _as_id(root)
        found = conn.execute(select(chain.c.node).join(node, node.c.id == chain.c.node)
                             .where(match, chain.c.depth <= MAX_DEPTH).limit(1)).first()
        return found is not None
    return under


def _as_id(value):
    import uuid
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
