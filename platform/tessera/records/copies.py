"""Copy-on-select fields (`copy_from: account.industry`): a value copied through a lookup when the
lookup is set or changed — Frappe's `fetch_from`, as opposed to a live formula.

Where it runs in the order of execution (records/service.py): step 3, just before the defaults. On
create, a copy field the write does not set gets the source's value when its lookup is set (with no
lookup, the field's default applies, if it has one). On update, a change of the lookup re-copies (clearing it clears the
copy) unless the write sets the field itself. The source is read as the system: the admin chose
to show that value on these records, as a formula would (a lookup the actor may not see is refused
by the lookup check before anything is saved).

`keep_in_sync` (one lookup away): the automation layer follows writes of the source objects
(`Runtime.copy_followers`) and updates the copies from the job queue — see automation/copy_sync.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..expr import Compiled, compile_expression
from .columns import MISSING
from .select import SelectBuilder
from .serialize import to_python

_CHUNK = 500


@dataclass(frozen=True)
class CopyField:
    field: object            # the FieldDef that receives the copy
    lookup: str              # the lookup of this object the path starts with
    target: str              # the object that lookup points to
    path: tuple[str, ...]    # the path on the target (industry; owner.email)
    compiled: Compiled       # the whole path as an expression (for type checks and display)
    keep_in_sync: bool


@dataclass(frozen=True)
class Follower:
    """A copy to keep in sync with a field of a source object: `object.field` copies `source_field`
    of the record its `lookup` points to."""
    object: str
    field: str
    lookup: str
    source_field: str


def compile_copies(md, obj, resolve) -> list[CopyField]:
    from ..meta.fieldtypes import USER_LINKS
    from ..meta.validate import expected_type
    copies = []
    for f in obj.stored_fields:
        source = f.options.get("copy_from")
        if not source:
            continue
        path = tuple(source.split("."))
        lookup = obj.fields.get(path[0])
        target = lookup.target if lookup is not None and lookup.is_relation else ("user" if path[0] in USER_LINKS else None)
        compiled = compile_expression(source, resolve, expected=expected_type(f))
        copies.append(CopyField(f, path[0], target, path[1:], compiled, bool(f.options.get("keep_in_sync"))))
    return copies


def followers_of(compiled_objects) -> dict[str, list[Follower]]:
    out: dict[str, list[Follower]] = {}
    for cobj in compiled_objects:
        for copy in cobj.copies:
            if copy.keep_in_sync:
                out.setdefault(copy.target, []).append(Follower(cobj.name, copy.field.name, copy.lookup, copy.path[0]))
    return out


def source_values(conn, rt, copy: CopyField, ids, now) -> dict:
    """{target id: the path's value} for the records `ids` of copy.target (system read)."""
    wanted = [i for i in dict.fromkeys(ids) if i is not None]
    found: dict = {}
    if not wanted or copy.target not in rt.objects:
        return found
    b = SelectBuilder(rt, copy.target, dialect_name=conn.dialect.name, now=now)
    column = b.column(copy.path)
    for start in range(0, len(wanted), _CHUNK):
        stmt = select(b.base.c.id, column).select_from(b.from_clause).where(b.base.c.id.in_(wanted[start:start + _CHUNK]))
        found.update((row[0], to_python(row[1])) for row in conn.execute(stmt))
    return found


def on_create(conn, rt, cobj, data: dict, values: dict, now, as_input, errors) -> set[str]:
    """Fill the copy fields of a record being created (in `values`), from its lookups; returns
    the names filled (their defaults do not apply)."""
    filled = set()
    for copy in cobj.copies:
        name = copy.field.name
        if name in data or values.get(copy.lookup) is None or copy.lookup in errors:
            continue
        _store(cobj, copy, values, source_values(conn, rt, copy, [values[copy.lookup]], now).get(values[copy.lookup]),
               as_input, errors)
        filled.add(name)
    return filled


def on_update(conn, rt, cobj, data: dict, changes: dict, current: dict, now, as_input, errors) -> None:
    """Re-copy the fields whose lookup this update changes (a cleared lookup clears its copies)."""
    for copy in cobj.copies:
        name = copy.field.name
        if name in data or copy.lookup not in changes or copy.lookup in errors:
            continue
        new = changes[copy.lookup]
        if new == current.get(copy.lookup):
            continue
        value = None if new is None else source_values(conn, rt, copy, [new], now).get(new)
        _store(cobj, copy, changes, value, as_input, errors)


def on_bulk_create(conn, rt, cobj, batch, now, as_input) -> None:
    """on_create for a batch (before its defaults): one query per copy field and 500 distinct
    lookup values."""
    for copy in cobj.copies:
        name = copy.field.name
        lookups = batch.columns.get(copy.lookup)
        given = batch.columns.get(name)
        if lookups is None or (given is not None and (name in batch.full or MISSING not in given)):
            continue
        rows = [i for i, rid in enumerate(lookups)
                if rid is not None and rid is not MISSING and i not in batch.errors
                and (given is None or given[i] is MISSING)]
        if not rows:
            continue
        found = source_values(conn, rt, copy, [lookups[i] for i in rows], now)
        column = batch.columns.get(name)
        if column is None:
            column = batch.columns[name] = [MISSING] * batch.n
        for i in rows:
            errors: dict = {}
            holder: dict = {}
            _store(cobj, copy, holder, found.get(lookups[i]), as_input, errors)
            if errors:
                batch.fail(i, name, errors[name][0])
            else:
                column[i] = holder[name]


def _store(cobj, copy, into: dict, value, as_input, errors) -> None:
    name = copy.field.name
    try:   # checked like input: the source may hold a value this field does not take
        into[name] = as_input(cobj, copy.field, value)
    except ValueError as exc:
        errors[name] = [f"copied from {copy.lookup}.{'.'.join(copy.path)}: {exc}"]
