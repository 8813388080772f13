"""Columns → fields: the automatic match, and the check of a mapping against what the user may do.

A mapping is `{column header: target}`; a target is "" (skip the column), a field name, or
`lookup.key` — a lookup filled by naming its record by the target object's `key` field (its name
field, an external id, or another unique field: records/natural_keys.py). A lookup mapped without
a key takes record ids.

A related_to field (a reference to a record of one of several objects) mapped as `related_to.name`
takes cells that name the object and then the record: `account:Acme Corp` (by the object's name
field), `account.code:C-17` (by another key field of it: an external id or a unique field) or
`account:<record id>`; mapped plainly, `account:<record id>` only (as the API's text form).

Automatic match: a header equal to a field's name or label, compared without case, spaces,
underscores and hyphens ("Company Name", "company_name" and "COMPANY-NAME" are one), or to the
object's label followed by the field's ("Deal Name" for deal.name); a header
`lookup.key` names a lookup and its key the same way. `lookup_key` says how a lookup matched by its
plain name or label is filled: "name" (the target's name field, as a person types it: the wizard)
or "" (ids: `tessera import`'s behaviour).
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from ..records.natural_keys import match_keys

OPERATIONS = ("insert", "update", "upsert")
_LOOKUPS = ("lookup", "master_detail")
RELATED_BY_NAME = "name"   # related_to.name: cells object:name or object.key:value (related_cell)


class MappingError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(text)).lower()


@dataclass(frozen=True)
class Target:
    """One mappable field as the wizard offers it."""
    value: str           # the mapping's target: field or lookup.key
    label: str


def mappable_fields(rt, access, object_name: str) -> list:
    """The fields an import may set, in the object's order: stored, not read-only, readable and
    editable by the user; the owner when they may set it."""
    cobj = rt.objects[object_name]
    out = [f for f in cobj.obj.fields.values()
           if f.stored and not f.read_only and f.name in cobj.coercers
           and access.can_read_field(object_name, f.name) and access.can_edit_field(object_name, f.name)]
    return out


def targets(rt, access, object_name: str) -> list[Target]:
    """Every choice of the wizard's mapping step: each field, and each lookup by each of its keys."""
    out = []
    for f in mappable_fields(rt, access, object_name):
        if f.type in _LOOKUPS:
            target = rt.objects[f.target]
            for key in match_keys(target.obj, wider=True):
                if access.can(f.target, "read") and access.can_read_field(f.target, key):
                    key_label = target.obj.fields[key].label
                    out.append(Target(f"{f.name}.{key}", f"{f.label} (by {key_label})"))
            out.append(Target(f.name, f"{f.label} (by record id)"))
        elif f.type == "related_to":
            out.append(Target(f"{f.name}.{RELATED_BY_NAME}", f"{f.label} (object:name, e.g. account:Acme Corp)"))
            out.append(Target(f.name, f"{f.label} (object:record id)"))
        else:
            out.append(Target(f.name, f.label))
    return out


def auto_map(rt, access, object_name: str, headers: list[str], *, lookup_key: str = "name") -> dict[str, str]:
    """{header: target or ""} for every header."""
    fields = {f.name: f for f in mappable_fields(rt, access, object_name)}
    by_norm: dict[str, str] = {}
    for f in fields.values():
        by_norm.setdefault(_norm(f.name), f.name)
    for f in fields.values():
        by_norm.setdefault(_norm(f.label), f.name)
    obj = rt.objects[object_name].obj
    for f in fields.values():          # "Deal Name", "Company Code": the label prefixed by the object's
        by_norm.setdefault(_norm(obj.label + f.label), f.name)
    out = {}
    for header in headers:
        name = by_norm.get(_norm(header))
        if name is None and "." in header:
            lookup, key = header.split(".", 1)
            name = by_norm.get(_norm(lookup))
            if name is not None and fields[name].type == "related_to":   # any other key: check() says how
                out[header] = f"{name}.{RELATED_BY_NAME if _norm(key) == RELATED_BY_NAME else key}"
                continue
            if name is not None and fields[name].type in _LOOKUPS:
                keys = match_keys(rt.objects[fields[name].target].obj, wider=True)
                key = next((k for k in keys if _norm(k) == _norm(key)), key)
                out[header] = f"{name}.{key}"
                continue
            name = None
        if name is not None and fields[name].type == "related_to" and lookup_key == "name":
            out[header] = f"{name}.{RELATED_BY_NAME}"
            continue
        if name is not None and fields[name].type in _LOOKUPS and lookup_key:
            target = rt.objects[fields[name].target].obj
            key = target.name_field if lookup_key == "name" else lookup_key
            if key and key in match_keys(target, wider=True):
                out[header] = f"{name}.{key}"
                continue
        out[header] = name or ""
    return out


def check(rt, access, object_name: str, headers: list[str], mapping: dict, *, operation: str = "insert",
          match_field: str | None = None, strict: bool = True) -> None:
    """Refuse a mapping the import cannot run (MappingError lists every problem): a target that is
    not a field, a field the user may not read or edit, a read-only field, a lookup key that names
    no record, two columns on one field, the match field of an update or upsert not mapped, a
    column neither mapped nor skipped (strict)."""
    cobj = rt.objects[object_name]
    obj = cobj.obj
    problems, used = [], {}
    if operation not in OPERATIONS:
        problems.append(f"the operation is one of {', '.join(OPERATIONS)}, not '{operation}'")
    for column in mapping:
        if column not in headers:
            problems.append(f"the mapping names a column '{column}' that the file does not have")
    for header in headers:
        if header not in mapping:
            if strict:
                problems.append(f"column '{header}' matches no field of {object_name} (map it to a field or skip it)")
            continue
        target = mapping[header]
        if target in ("", None):
            continue
        if not isinstance(target, str):
            problems.append(f"column '{header}': the target must be a field name")
            continue
        name, dot, key = target.partition(".")
        field = obj.fields.get(name)
        if name == "owner":
            problem = None if access.can_edit_field(object_name, "owner") else "you cannot set the owner"
        elif field is None:
            problem = f"'{name}' is not a field of {object_name}"
        elif not access.can_read_field(object_name, name):
            problem = f"you cannot read {object_name}.{name}"
        elif not field.stored or field.read_only or name not in cobj.coercers:
            problem = f"{object_name}.{name} is read-only (a {field.type} field is not imported)"
        elif not access.can_edit_field(object_name, name):
            problem = f"{object_name}.{name} is read-only for you"
        elif dot and field.type == "related_to":
            problem = None if key == RELATED_BY_NAME else (
                f"'{target}': a related_to column is mapped as '{name}.{RELATED_BY_NAME}' (cells object:name or "
                f"object.key:value, e.g. account:Acme Corp or account.code:C-17) or '{name}' (object:record id)")
        elif dot and field.type not in _LOOKUPS:
            problem = f"'{target}': only a lookup can be matched by a key ({name} is a {field.type} field)"
        else:
            problem = None
        # a related_to's object and key are in each cell: checked per row (records/natural_keys.py)
        if problem is None and dot and (field is None or field.type != "related_to"):
            tname = "user" if name == "owner" else field.target
            tobj = rt.objects[tname].obj
            keys = match_keys(tobj, wider=True)
            if key not in keys:
                problem = (f"'{key}' is not an external id or unique name field of {tname}, nor its name "
                           f"(a lookup is matched by one of: {', '.join(keys) or 'none'})")
            elif not (access.can(tname, "read") and access.can_read_field(tname, key)):
                problem = f"you cannot look up {tname} records by {key}"
        if problem:
            problems.append(f"column '{header}': {problem}")
            continue
        if name in used:
            what = f"the lookup '{name}'" if field is None or field.type in _LOOKUPS else f"the field '{name}'"
            problems.append(f"the header names {what} more than once ({used[name]} and {header}): give one of them")
            continue
        used[name] = header
    if operation in ("update", "upsert"):
        field = obj.fields.get(match_field or "")
        if not match_field:
            problems.append(f"an {operation} needs a match field (a unique or external id field)")
        elif field is None or not field.stored or not (field.unique or field.external_id):
            keys = [f.name for f in obj.fields.values() if f.stored and (f.unique or f.external_id)]
            problems.append(f"'{match_field}' is not a unique or external id field of {object_name} "
                            f"(those are: {', '.join(keys) or 'none'})")
        elif match_field not in used:
            problems.append(f"the match field '{match_field}' is not mapped to a column")
    if problems:
        raise MappingError(problems)


def related_cell(rt, text):
    """A cell of a column mapped as `related_to.name`, as the record service's natural key of a
    related_to value (records/natural_keys.py): `account:Acme Corp` → {"object": "account", <its
    name field>: "Acme Corp"}; `account.code:C-17` → {"object": "account", "code": "C-17"};
    `account:<record id>` → the reference itself. A blank cell is no value; text without an object
    before a colon becomes a key without an object, which the service refuses saying what is expected."""
    if text is None or str(text).strip() == "":
        return None
    head, colon, value = str(text).partition(":")
    object_name, dot, key = head.strip().partition(".")
    if not colon or not object_name:
        return {"object": ""}
    value = value.strip()
    if not dot and _is_id(value):
        return {"object": object_name, "id": value}
    if not dot:
        cobj = rt.objects.get(object_name)
        key = (cobj.obj.name_field if cobj is not None else None) or RELATED_BY_NAME
    return {"object": object_name, key.strip(): value}


def _is_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
