"""related_to fields in the record service (meta/related.py): the reference check on write,
the parent's delete (clear or cascade, as a lookup's on_delete), and the API value on read —
`{"object", "id", "name"}`, the name only when the reader may see that record.

The field's value inside the service is a RelatedRef(object, id); records/geo_rows.py splits it
into its two columns for the UPDATE and folds them back, records/writer.py splits it on INSERT.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Text, and_, case, cast, delete, literal, null, or_, select, update

from ..meta.related import column_names, from_text, targets
from ..dedupe import maintain as duplicate_keys
from ..search import maintain as search_index
from . import history


def referrers(md) -> dict[str, list[tuple[str, str, str]]]:
    """target object -> [(object, related_to field, on_delete)] that may point to its records."""
    out: dict[str, list] = defaultdict(list)
    for obj in md.objects.values():
        for f in obj.stored_fields:
            if f.type == "related_to":
                for target in targets(md, f):
                    out[target].append((obj.name, f.name, f.options.get("on_delete", "set_null")))
    return dict(out)


def fields_of(cobj) -> list:
    return [f for f in cobj.obj.stored_fields if f.type == "related_to"]


# -- write -----------------------------------------------------------------------------------------
def check(conn, rt, cobj, values: dict, errors: dict, access) -> None:
    """Each related_to value names an object of the field's list and a record of it that exists
    and that the actor may see. A record that exists but is hidden gets the very message a
    missing one gets: the check must not reveal what the actor cannot see."""
    for f in fields_of(cobj):
        ref = values.get(f.name)
        if ref is None or f.name in errors:
            continue
        allowed = targets(rt.metadata, f)
        if ref.object not in allowed:
            errors[f.name] = [f"cannot refer to a {ref.object} record (it takes one of: {', '.join(allowed) or 'none'})"]
            continue
        target = rt.objects[ref.object]
        t = target.table
        where = [t.c.id == ref.id]
        visible = access.visible(ref.object, t, conn.dialect.name) if access is not None else None
        if visible is not None:
            where.append(visible)
        if conn.execute(select(t.c.id).where(*where)).first() is None:
            errors[f.name] = [f"there is no {ref.object} with id '{ref.id}'"]


def check_bulk(conn, rt, cobj, batch, access) -> None:
    """The same check for a bulk create's rows (records/bulk.py), one query per object and 500 ids."""
    for f in fields_of(cobj):
        refs = batch.columns.get(f.name)
        if refs is None:
            continue
        allowed = set(targets(rt.metadata, f))
        wanted: dict[str, set] = defaultdict(set)
        for i, ref in enumerate(refs):
            if ref is None or i in batch.errors:
                continue
            if ref.object not in allowed:
                batch.fail(i, f.name, f"cannot refer to a {ref.object} record (it takes one of: {', '.join(sorted(allowed))})")
            else:
                wanted[ref.object].add(ref.id)
        found: set = set()
        for object_name, ids in wanted.items():
            t = rt.objects[object_name].table
            visible = access.visible(object_name, t, conn.dialect.name) if access is not None else None
            ids = list(ids)
            for start in range(0, len(ids), 500):
                stmt = select(t.c.id).where(t.c.id.in_(ids[start:start + 500]), *([visible] if visible is not None else []))
                found.update((object_name, rid) for rid in conn.execute(stmt).scalars())
        for i, ref in enumerate(refs):
            if ref is not None and i not in batch.errors and ref.object in allowed and (ref.object, ref.id) not in found:
                batch.fail(i, f.name, f"there is no {ref.object} with id '{ref.id}'")


def on_delete(conn, rt, cobj, ids: list) -> None:
    """Before `ids` of `cobj` are deleted: records pointing to them through a related_to field are
    cleared (set_null) or deleted with them (cascade, with their history, search entries and
    duplicate keys), as a lookup's foreign key would do — and so are those pointing to the records
    an on_delete cascade deletes with them (Runtime.cascade, read before the DELETE): a task about
    a deleted account's cascade-deleted child must not keep pointing at nothing."""
    for target, chosen in rt.cascade(cobj, ids):
        for child_name, field, action in rt.related_referrers.get(target.name, ()):
            child = rt.objects[child_name]
            t = child.table
            object_column, id_column = column_names(field)
            pointing = and_(t.c[object_column] == target.name, t.c[id_column].in_(chosen))
            if action == "cascade":
                doomed = [r for r in conn.execute(select(t.c.id).where(pointing)).scalars()]
                if doomed:
                    on_delete(conn, rt, child, doomed)
                    history.delete_for_records(conn, rt, child, doomed)
                    search_index.deleting(conn, rt, child, doomed)
                    duplicate_keys.deleting(conn, rt, child, doomed)
                    conn.execute(delete(t).where(t.c.id.in_(doomed)))
            else:
                conn.execute(update(t).where(pointing).values({object_column: None, id_column: None}))


# -- read ------------------------------------------------------------------------------------------
def output_column(b, path):
    """A related_to field read as one value, "object:id" text (to_api makes it an object)."""
    path = tuple(path)
    alias, _cobj = b._join(path[:-1])
    obj_col, id_col = (alias.c[n] for n in column_names(path[-1]))
    return case((or_(obj_col.is_(None), id_col.is_(None)), null()),
                else_=obj_col.concat(literal(":", Text())).concat(cast(id_col, Text())))


def parse_text(value):
    """"object:id" text from SQL (PostgreSQL prints a uuid with dashes, SQLite stores 32 hex)."""
    return from_text(value)


def add_names(conn, rt, access, records: list[dict], paths: list[str]) -> None:
    """Put each related_to value's record name (`name`) in place, for records the reader may see
    (one query per object); a record they may not see keeps only its object and id."""
    if not records or not paths:
        return
    wanted: dict[str, set] = defaultdict(set)
    for record in records:
        for p in paths:
            value = record.get(p)
            if value:
                wanted[value["object"]].add(value["id"])
    names: dict[tuple, str] = {}
    for object_name, ids in wanted.items():
        cobj = rt.objects.get(object_name)
        if cobj is None:
            continue
        if access is not None and not access.can(object_name, "read"):
            continue
        name_field = cobj.obj.name_field
        t = cobj.table.alias()
        if not name_field or name_field not in t.c or (access is not None and
                                                       not access.can_read_field(object_name, name_field)):
            continue
        name_col = t.c[name_field]
        visible = access.visible(object_name, t, conn.dialect.name) if access is not None else None
        id_list = [from_text(f"{object_name}:{i}").id for i in ids]
        for start in range(0, len(id_list), 500):
            stmt = select(t.c.id, name_col).where(t.c.id.in_(id_list[start:start + 500]),
                                                  *([visible] if visible is not None else []))
            for rid, name in conn.execute(stmt):
                names[(object_name, str(rid))] = None if name is None else str(name)
    for record in records:
        for p in paths:
            value = record.get(p)
            if value and (value["object"], value["id"]) in names:
                value["name"] = names[(value["object"], value["id"])]
