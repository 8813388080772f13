"""Keeping the index current: called by the record service inside each write's transaction, and
by the change pipeline (changes/search_steps.py) to rebuild an object's index."""
from __future__ import annotations

from sqlalchemy import Table

from ..meta.model import ObjectDef
from . import storage

_CHUNK = 5_000   # ids per statement (SQLite binds at most 32,766 parameters)


def written(conn, cobj, ids, *, new: bool = False) -> None:
    """Records `ids` of the CompiledObject `cobj` were inserted (`new`: nothing to remove first)
    or changed: (re)index them from their saved rows. An object without index tables (`cobj.search_indexed` false: a database made
    before search) is skipped: the change pipeline builds the index from every row (search_steps)."""
    if not cobj.search_indexed:
        return
    obj, table = cobj.obj, cobj.table
    ids = list(ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        if not new:
            storage.remove_ids(conn, obj, chunk)
        storage.fill_ids(conn, obj, table, chunk)


def deleting(conn, rt, cobj, ids) -> None:
    """Before the DELETE of the records `ids` (a list) of `cobj`: drop their entries and those of
    the records an on_delete cascade (master-detail, a cascading lookup) will delete with them
    (Runtime.cascade: found through their foreign keys, so this runs before the DELETE, as
    records/history.py does for field history). An entry left behind would be a hit that 404s."""
    for target, chosen in rt.cascade(cobj, ids):
        if not target.search_indexed:
            continue
        if isinstance(chosen, list):
            for start in range(0, len(chosen), _CHUNK):
                storage.remove_ids(conn, target.obj, chosen[start:start + _CHUNK])
        else:
            storage.remove_selected(conn, target.obj, chosen)


def touches(obj: ObjectDef, changed) -> bool:
    """Does an update of the fields `changed` change what the index holds?"""
    return not set(obj.searchable_fields).isdisjoint(changed)


def rebuild(conn, obj: ObjectDef | None, table: Table | None, old_name: str | None) -> None:
    """Drop the index of `old_name` (if any) and build `obj`'s from every row of `table`."""
    if old_name is not None:
        storage.drop_index(conn, old_name)
    if obj is not None and obj.searchable_fields:
        storage.create_index(conn, obj)
        storage.fill(conn, obj, table)
