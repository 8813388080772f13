"""Keeping the keys current: called by the record service inside each write's transaction, and by
the change pipeline (changes/dedupe_steps.py) to build a rule's keys from every row.

`cobj.duplicate_rules` (a CompiledObject's, runtime.py) are the object's active rules as RuleKeys;
an object without any pays nothing on write.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from . import storage
from .keys import RuleKeys

_CHUNK = 5_000    # records per statement (SQLite binds at most 32,766 parameters)


def _rows(rules, records) -> list[dict]:
    rows = []
    for record in records:
        rid = record["id"]
        for rule in rules:
            entry = rule.entry(record)
            if entry is not None:
                rows.append({"record_id": rid, "rule": rule.name, "key": entry.key, "length": entry.length,
                             "value": entry.value})
    return rows


def touches(cobj, changed) -> bool:
    """Does an update of the fields `changed` change any key of the object?"""
    return bool(cobj.duplicate_rules) and not cobj.duplicate_fields.isdisjoint(changed)


def written(conn, cobj, records: list[dict], *, new: bool = False) -> None:
    """`records` (stored values with their `id`) were inserted (`new`) or changed: their keys
    follow. An update's record must hold every field the rules compare (the merged row)."""
    if not cobj.duplicate_rules:
        return
    if not new:
        deleted(conn, cobj, [r["id"] for r in records])
    for start in range(0, len(records), _CHUNK):
        storage.insert_rows(conn, cobj.name, _rows(cobj.duplicate_rules, records[start:start + _CHUNK]))


def written_columns(conn, cobj, ids: list, columns: dict) -> None:
    """A bulk create's records, given as columns (records/bulk.py Batch.columns)."""
    if not cobj.duplicate_rules:
        return
    fields = [f for f in cobj.duplicate_fields if f in columns]
    records = [{"id": rid, **{f: columns[f][i] for f in fields}} for i, rid in enumerate(ids)]
    written(conn, cobj, records, new=True)


def deleted(conn, cobj, ids) -> None:
    if not cobj.duplicate_rules:
        return
    ids = list(ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        conn.execute(storage.delete_ids_statement(cobj.name, len(chunk) == 1),
                     {"ids": chunk[0] if len(chunk) == 1 else chunk})


def deleting(conn, rt, cobj, ids: list) -> None:
    """Before the DELETE of the records `ids` of `cobj`: drop their keys and those of the records
    an on_delete cascade deletes with them (Runtime.cascade, read through the foreign keys before
    the DELETE) — a key left behind would match a record that is gone."""
    for target, chosen in rt.cascade(cobj, ids):
        if not target.duplicate_rules:
            continue
        if isinstance(chosen, list):
            deleted(conn, target, chosen)
        else:
            t = storage.keys_table(target.name)
            conn.execute(delete(t).where(t.c.record_id.in_(chosen)))


def build(conn, object_name: str, table, rule: RuleKeys) -> int:
    """The keys of `rule` for every row of `table` (none kept yet): the rows are read in pages by
    id and their keys written page by page. Returns the number of keys written."""
    columns = [table.c.id, *[table.c[f] for f in rule.fields]]
    last, written_count = None, 0
    while True:
        stmt = select(*columns).order_by(table.c.id).limit(_CHUNK)
        if last is not None:
            stmt = stmt.where(table.c.id > last)
        page = conn.execute(stmt).mappings().all()
        if not page:
            return written_count
        rows = _rows([rule], page)
        storage.insert_rows(conn, object_name, rows)
        written_count += len(rows)
        last = page[-1]["id"]
