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

A bulk write resolves set-based: one query per lookup field and key field per 500 distinct values,
never one per row.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import select

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


def resolve(conn, rt, cobj, data: dict, access, from_text: bool = False) -> tuple[dict, dict[str, list[str]]]:
    """`data` with every natural key of a lookup replaced by the record's id (None where it failed),
    and the errors by lookup field."""
    targets = links(cobj)
    wanted = [name for name, value in data.items() if isinstance(value, dict) and name in targets]
    if not wanted:
        return data, {}
    resolved, errors = dict(data), {}
    for name in wanted:
        target = targets[name]
        resolved[name] = None
        try:
            key, value = parse(rt, target, data[name], from_text)
        except KeyProblem as exc:
            errors[name] = [str(exc)]
            continue
        if value is None:
            continue
        if not _readable(access, target, key):
            errors[name] = [f"you cannot look up {target} records by {key}"]
            continue
        resolved[name] = _found(conn, rt, access, target, key, {value}).get(value)
        if resolved[name] is AMBIGUOUS:
            resolved[name], errors[name] = None, [_ambiguous(target, key, value)]
        elif resolved[name] is None:
            errors[name] = [_not_found(target, key, value)]
    return resolved, errors


def resolve_rows(conn, rt, cobj, rows: list, access, from_text: bool = False) -> tuple[list, dict]:
    """Every row's natural keys replaced by ids, set-based; failures as {row index: {field: [message]}}
    (the failed values set to None, for the caller to report through its batch)."""
    failures: dict[int, dict[str, list[str]]] = {}
    out = rows
    for name, target in links(cobj).items():
        asked = [(i, row[name]) for i, row in enumerate(rows)
                 if isinstance(row, dict) and isinstance(row.get(name), dict)]
        if not asked:
            continue
        if out is rows:
            out = list(rows)
        by_key: dict[str, dict[int, object]] = {}   # key field -> {row index: key value}
        for i, value in asked:
            out[i] = dict(out[i], **{name: None})
            try:
                key, parsed = parse(rt, target, value, from_text)
            except KeyProblem as exc:
                failures.setdefault(i, {})[name] = [str(exc)]
                continue
            if parsed is not None:
                by_key.setdefault(key, {})[i] = parsed
        for key, values in by_key.items():
            if not _readable(access, target, key):
                for i in values:
                    failures.setdefault(i, {})[name] = [f"you cannot look up {target} records by {key}"]
                continue
            found = _found(conn, rt, access, target, key, set(values.values()))
            for i, value in values.items():
                if found.get(value) is AMBIGUOUS:
                    failures.setdefault(i, {})[name] = [_ambiguous(target, key, value)]
                elif value in found:
                    out[i][name] = str(found[value])   # text: the bulk coercer's fast path
                else:
                    failures.setdefault(i, {})[name] = [_not_found(target, key, value)]
    return out, failures
