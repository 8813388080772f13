"""Polymorphic lookups (`related_to`, Salesforce's WhatId): a reference to a record of any of a
declared list of objects, stored in two columns — `<field>__object` (the object's name) and
`<field>` (the record's id) — with one composite index, exchanged as
`{"object": "account", "id": "…"}` (the API adds the record's `name` on output) and typed (CSV,
forms) as `account:<id>`.

`to` is either a list of object names or the word `activities`: every object that declares
`activities: true` (Salesforce's "objects that allow activities"), so a package that turns
activities on for its object needs no change to the core task, event or note.
"""
from __future__ import annotations

import uuid
from typing import NamedTuple

ACTIVITIES = "activities"     # `to: activities`: every object with `activities: true`
OBJECT_PART = "object"        # `related_to.object` in expressions: the object's name, as text
HINT = 'an object {"object": "account", "id": "<record id>"} or the text "account:<record id>"'


class RelatedRef(NamedTuple):
    object: str
    id: uuid.UUID


def column_names(field_name: str) -> tuple[str, str]:
    """The two columns of a related_to field: the object's name, then the record's id. The id
    column keeps the field's own name, so `related_to == '<id>'` reads it like any lookup."""
    return f"{field_name}__object", field_name


def targets(md, field) -> tuple[str, ...]:
    """The objects a related_to field may point to, in the effective metadata `md`."""
    to = field.options.get("to")
    if to == ACTIVITIES:
        return tuple(sorted(n for n, o in md.objects.items() if o.activities))
    return tuple(n for n in (to or ()) if n in md.objects)


def parse_related(value) -> RelatedRef:
    """A RelatedRef from the API's object, a RelatedRef, or the text "object:id"; ValueError otherwise."""
    if isinstance(value, RelatedRef):
        return value
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in ("object", "id", "name"))
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (a related_to value has object and id)")
        obj, rid = value.get("object"), value.get("id")
    elif isinstance(value, str) and ":" in value:
        obj, _, rid = value.strip().partition(":")
    else:
        raise ValueError(f"must be {HINT}")
    if not isinstance(obj, str) or not obj.strip():
        raise ValueError("object is required (the name of the object the record belongs to)")
    if not isinstance(rid, (str, uuid.UUID)):
        raise ValueError("id is required (a record id string)")
    try:
        rid = rid if isinstance(rid, uuid.UUID) else uuid.UUID(rid.strip())
    except ValueError:
        raise ValueError(f"'{rid}' is not a record id") from None
    return RelatedRef(obj.strip(), rid)


def from_text(text) -> RelatedRef | None:
    """A value read back as "object:id" text (storage/select output); None for nothing."""
    if text is None:
        return None
    if isinstance(text, RelatedRef):
        return text
    obj, _, rid = str(text).partition(":")
    return RelatedRef(obj, uuid.UUID(rid))


def to_api(value) -> dict | None:
    ref = from_text(value)
    return None if ref is None else {"object": ref.object, "id": str(ref.id)}
