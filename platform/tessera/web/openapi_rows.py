"""OpenAPI of rows fields (records/rows.py): the parent's record schema carries each rows field the
viewer may read as an array of row objects ({id, position, ...the child's readable fields}); its
input and patch schemas take the rows nested (rows with an id are updated, rows without are
created, rows left out are deleted) when the viewer may create or edit the child object."""
from __future__ import annotations

from ..meta.fieldtypes import SYSTEM_FIELDS
from ..records.rows import MAX_ROWS
from .openapi_fields import input_schema, natural_key_input, output_schema

_ID = {"type": "string", "format": "uuid"}


def _child_fields(md, rd):
    child = md.objects.get(rd.object)
    if child is None or rd.relationship is None:
        return None, []
    return child, [f for f in child.fields.values() if f.name != rd.relationship and f.name not in SYSTEM_FIELDS]


def rows_output(obj, md, access) -> dict:
    out = {}
    for rd in obj.rows.values():
        child, fields = _child_fields(md, rd)
        if child is None or not access.can(child.name, "read"):
            continue
        props = {"id": {**_ID, "readOnly": True},
                 "position": {"type": "integer", "minimum": 1, "readOnly": True,
                              "description": "1..n in the parent's order"}}
        props.update({f.name: output_schema(f, md) for f in fields if access.can_read_field(child.name, f.name)})
        out[rd.name] = {"type": "array", "title": rd.label, "readOnly": True,
                        "description": (rd.help + " " if rd.help else "") + f"{child.plural_label} of this record, "
                                       "in order (returned by a single record's GET, not by lists).",
                        "items": {"type": "object", "required": ["id", "position"], "properties": props}}
    return out


def rows_input(obj, md, access) -> dict:
    out = {}
    for rd in obj.rows.values():
        child, fields = _child_fields(md, rd)
        if child is None or not (access.can(child.name, "create") or access.can(child.name, "edit")):
            continue
        props = {"id": {**_ID, "description": "an existing row to keep (and update); leave out for a new row"}}
        props.update({f.name: natural_key_input(f, md, input_schema(f, md, required=False), access.can_read_field)
                      for f in fields if f.stored and not f.read_only and f.type != "autonumber"
                      and access.can_edit_field(child.name, f.name)})
        out[rd.name] = {"type": "array", "title": rd.label, "maxItems": min(rd.max_rows, MAX_ROWS),
                        "description": f"Replaces the set of {child.plural_label}: rows with an id are updated, rows "
                                       "without one are created, rows left out are deleted; the list order is the "
                                       "new order. Per-row errors name paths like " + f"{rd.name}[3].field.",
                        "items": {"type": "object", "properties": props, "additionalProperties": False}}
    return out
