"""Natural keys: a lookup value may name its record by a key instead of an id.

`{"company": {"code": "C-17"}}` — an object with exactly one key, naming an external id field of
the target (`external_id: true`) or its name field when that is unique (ObjectDef.natural_keys) —
is replaced by the id of the record with that value, before step 2 (coerce) of the order of
execution, so everything after sees an ordinary lookup. The record is looked up under the
caller's sharing: a record they cannot see resolves as not found, exactly like a missing one.
A blank key value ("" or null) means no value, as an empty id does.

An import (tessera.dataio) may also name records by any other unique field and by a name field
that is not unique, within `wider_keys()`: a name that two visible records share is then refused
as ambiguous (never the first one found). The API keeps to the natural keys.

A related_to field's value names its record the same way, with the object it belongs to:
`{"related_to": {"object": "account", "code": "C-17"}}` (no `id`: a value with one is an ordinary
reference) — the object one of the field's list and readable by the caller, the key one of that
object's natural keys (wider in an import). An import's cells `account:Acme Corp` (by the name
field) and `account.code:C-17` (by another key) become this form (dataio/engine.py).

A bulk write resolves set-based: one query per lookup field and key field per 500 distinct values,
never one per row (per object and key field for a related_to).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import select

from ..meta.related import targets as related_targets

_CHUNK = 500
_WIDER: ContextVar[bool] = ContextVar("tessera_wider_natural_keys", default=False)


@contextmanager
def wider_keys():
    """Within this block (this thread), lookups may also be named by any unique field and by a
    name field that is not unique (see the module's docstring)."""
    token = _WIDER.set(True)
    try:
        yield
    finally:
        _WIDER.reset(token)


class KeyProblem(ValueError):
    """A natural key that names no record the caller can use (reported at the lookup field)."""


def links(cobj) -> dict[str, str]:
    """lookup field -> target object, the owner included (a lookup to user)."""
    return dict(cobj.relations, owner="user")


def match_keys(obj, wider: bool | None = None) -> tuple[str, ...]:
    """The fields a lookup to `obj` may name its record by: the natural keys; with wider keys (an
    import) also every other unique stored field and the name field, unique or not."""
    keys = list(obj.natural_keys)
    if not (_WIDER.get() if wider is None else wider):
        return tuple(keys)
    keys += [f.name for f in obj.fields.values() if f.unique and f.stored and f.name not in keys]
    named = obj.fields.get(obj.name_field) if obj.name_field else None
    if named is not None and named.stored and named.name not in keys:
        keys.append(named.name)
    return tuple(keys)


def parse(rt, target: str, value: dict, from_text: bool):
    """(key field, key value coerced like the target field's input) of a natural key; key value
    None when blank. Raises KeyProblem saying what is wrong."""
    tobj = rt.objects.get(target)
    keys = match_keys(tobj.obj) if tobj is not None else ()
    offered = f"{', '.join(keys)}" if keys else f"{target} has none: mark a text field external_id"
    if len(value) != 1:
        raise KeyProblem(f"a natural key is an object with exactly one key, the name of a natural key field of "
                         f"{target} ({offered})")
    (key, raw), = value.items()
    if key not in keys:
        raise KeyProblem(f"'{key}' is not an external id or unique name field of {target} (natural keys: {offered})")
    if raw is None or raw == "":
        return key, None
    coerce = tobj.coercers.get(key)
    try:
        if coerce is not None:
            return key, coerce(raw, from_text)
        if not isinstance(raw, str):   # an autonumber name field: its values are text
            raise ValueError("must be a string")
        return key, raw
    except ValueError as exc:
        raise KeyProblem(f"{target} {key}: {exc}") from None


def _found(conn, rt, access, target: str, key: str, values: set) -> dict:
    """key value -> id of the records the caller may see, among `values` (AMBIGUOUS where several
    share it: only a name field may repeat)."""
    t = rt.objects[target].table
    scope = access.visible(target, t, conn.dialect.name) if access is not None else None
    out, wanted = {}, list(values)
    for start in range(0, len(wanted), _CHUNK):
        stmt = select(t.c[key], t.c.id).where(t.c[key].in_(wanted[start:start + _CHUNK]))
        for value, rid in conn.execute(stmt.where(scope) if scope is not None else stmt):
            out[value] = AMBIGUOUS if value in out else rid
    return out


AMBIGUOUS = object()


def _ambiguous(target: str, key: str, value) -> str:
    return f"more than one {target} has {key} '{value}': name it by a unique key (an external id) instead"


def _readable(access, target: str, key: str) -> bool:
    return access is None or (access.can(target, "read") and access.can_read_field(target, key))


def _not_found(target: str, key: str, value) -> str:
    return f"there is no {target} with {key} '{value}'"


# -- related_to fields (meta/related.py) --------------------------------------------------------------
RELATED_HINT = ('{"object": "account", "name": "Acme Corp"}: the object, and one key field of it and its value '
                '(in an import file: account:Acme Corp by the name, account.code:C-17 by another key)')


def related_keys(cobj) -> dict:
    """related_to field name -> FieldDef: a value `{"object": …, <key field>: …}` (no `id`) names
    its record by a key of the object it names, as a lookup's natural key does."""
    return {f.name: f for f in cobj.obj.stored_fields if f.type == "related_to"}


def _related_target(rt, field, value: dict, access) -> str:
    """The object a related_to natural key names: one the field takes and the caller may read."""
    obj = value.get("object")
    if not isinstance(obj, str) or not obj.strip():
        raise KeyProblem(f"names no object: expected {RELATED_HINT}")
    obj = obj.strip()
    allowed = related_targets(rt.metadata, field)
    if obj not in allowed:
        raise KeyProblem(f"cannot refer to a {obj} record (it takes one of: {', '.join(allowed) or 'none'})")
    if access is not None and not access.can(obj, "read"):
        raise KeyProblem(f"you cannot look up {obj} records")
    return obj


def _keyed(cobj):
    """(field, is related_to, target or None) of every field whose value may be a natural key."""
    related = related_keys(cobj)
    return [(name, False, target) for name, target in links(cobj).items()] + \
        [(name, True, f) for name, f in related.items()]


def _parse_value(rt, related, target_or_field, value, access, from_text):
    """(target, key, parsed) of a lookup's or a related_to field's natural key; KeyProblem if wrong."""
    if not related:
        return (target_or_field, *parse(rt, target_or_field, value, from_text))
    target = _related_target(rt, target_or_field, value, access)
    rest = {k: v for k, v in value.items() if k != "object"}
    return (target, *parse(rt, target, rest, from_text))


def _is_key(related: bool, value) -> bool:
    # a related_to value with an id is an ordinary value (coerced as the field's input)
    return isinstance(value, dict) and not (related and "id" in value)


def resolve(conn, rt, cobj, data: dict, access, from_text: bool = False) -> tuple[dict, dict[str, list[str]]]:
    """`data` with every natural key of a lookup or a related_to field replaced by the record's id
    ("object:id" for a related_to; None where it failed), and the errors by field."""
    if not any(isinstance(v, dict) for v in data.values()):
        return data, {}
    resolved, errors = dict(data), {}
    for name, related, target_or_field in _keyed(cobj):
        if name not in data or not _is_key(related, data[name]):
            continue
        resolved[name] = None
        try:
            target, key, value = _parse_value(rt, related, target_or_field, data[name], access, from_text)
        except KeyProblem as exc:
            errors[name] = [str(exc)]
            continue
        if value is None:
            continue
        if not _readable(access, target, key):
            errors[name] = [f"you cannot look up {target} records by {key}"]
            continue
        found = _found(conn, rt, access, target, key, {value}).get(value)
        if found is AMBIGUOUS:
            errors[name] = [_ambiguous(target, key, value)]
        elif found is None:
            errors[name] = [_not_found(target, key, value)]
        else:
            resolved[name] = f"{target}:{found}" if related else found
    return resolved, errors


def resolve_rows(conn, rt, cobj, rows: list, access, from_text: bool = False) -> tuple[list, dict]:
    """Every row's natural keys replaced by ids, set-based; failures as {row index: {field: [message]}}
    (the failed values set to None, for the caller to report through its batch)."""
    failures: dict[int, dict[str, list[str]]] = {}
    out = rows
    for name, related, target_or_field in _keyed(cobj):
        asked = [(i, row[name]) for i, row in enumerate(rows)
                 if isinstance(row, dict) and _is_key(related, row.get(name))]
        if not asked:
            continue
        if out is rows:
            out = list(rows)
        by_key: dict[tuple, dict[int, object]] = {}   # (target, key field) -> {row index: key value}
        for i, value in asked:
            out[i] = dict(out[i], **{name: None})
            try:
                target, key, parsed = _parse_value(rt, related, target_or_field, value, access, from_text)
            except KeyProblem as exc:
                failures.setdefault(i, {})[name] = [str(exc)]
                continue
            if parsed is not None:
                by_key.setdefault((target, key), {})[i] = parsed
        for (target, key), values in by_key.items():
            if not _readable(access, target, key):
                for i in values:
                    failures.setdefault(i, {})[name] = [f"you cannot look up {target} records by {key}"]
                continue
            found = _found(conn, rt, access, target, key, set(values.values()))
            for i, value in values.items():
                if found.get(value) is AMBIGUOUS:
                    failures.setdefault(i, {})[name] = [_ambiguous(target, key, value)]
                elif value in found:   # text: the bulk coercer's fast path
                    out[i][name] = f"{target}:{found[value]}" if related else str(found[value])
                else:
                    failures.setdefault(i, {})[name] = [_not_found(target, key, value)]
    return out, failures
