"""Object descriptions for `GET /api/v1/objects[/{name}]`, computed from the Runtime, as the caller
may see them (like Salesforce's describe): an object they cannot read does not exist for them (absent
from the list, 404 to describe), fields they cannot read are absent, and the expressions behind the
metadata (validation rule conditions, formulas, roll-up filters, default expressions) are shown
only to those who may customize it."""
from __future__ import annotations

from ..records.errors import NotFound

_SYSTEM = [
    {"name": "id", "type": "id", "label": "Record ID"},
    {"name": "owner", "type": "lookup", "label": "Owner", "to": "user"},
    {"name": "created_at", "type": "datetime", "label": "Created At"},
    {"name": "created_by", "type": "lookup", "label": "Created By", "to": "user"},
    {"name": "updated_at", "type": "datetime", "label": "Updated At"},
    {"name": "updated_by", "type": "lookup", "label": "Updated By", "to": "user"},
]
_OPTION_KEYS = ("max_length", "precision", "scale", "min", "max", "restricted", "to", "on_delete", "returns",
                "expression", "object", "relationship", "function", "field", "filter", "format", "hierarchy")
_EXPRESSION_KEYS = {"expression", "filter", "default_expression"}   # metadata logic: for customizers only


def list_objects(runtime, access) -> list[dict]:
    return [{"name": o.name, "label": o.label, "plural_label": o.plural_label, "package": o.package}
            for o in sorted(runtime.metadata.objects.values(), key=lambda o: o.name) if access.can(o.name, "read")]


def describe_field(f, *, show_expressions: bool = True) -> dict:
    out = {"name": f.name, "type": f.type, "label": f.label, "help": f.help, "required": f.required,
           "unique": f.unique, "external_id": f.external_id, "read_only": f.read_only, "system": False}
    for key in _OPTION_KEYS:
        if key in f.options and (show_expressions or key not in _EXPRESSION_KEYS):
            out[key] = f.options[key]
    if f.type in ("picklist", "multi_picklist"):
        out["values"] = [v if isinstance(v, dict) else {"value": v, "label": v} for v in f.options.get("values", ())]
    if f.options.get("transitions") is not None:   # a state machine (records/transitions.py)
        out["transitions"] = [{**t, **{k: [t[k]] if isinstance(t[k], str) else list(t[k]) for k in ("from", "to")}}
                              for t in f.options["transitions"]]
    if f.options.get("initial"):
        out["initial"] = list(f.options["initial"])
    if f.encrypted:   # clients learn why a filter or sort on it is refused, and that values may be masked
        out["encrypted"], out["encryption"] = True, f.encryption_mode
    if f.default is not None:
        out["default"] = f.default
    if f.default_expression and show_expressions:
        out["default_expression"] = f.default_expression
    return out


def describe_object(runtime, name: str, access) -> dict:
    obj = runtime.metadata.objects.get(name)
    if obj is None or not access.can(name, "read"):   # the same answer: hidden objects cannot be probed
        raise NotFound(f"there is no object '{name}'")
    customizer = access.system("customize_metadata")
    readable = lambda field: access.can_read_field(name, field)  # noqa: E731
    system = [{**s, "required": False, "unique": s["name"] == "id", "external_id": False, "read_only": s["name"] != "owner", "system": True}
              for s in _SYSTEM]
    return {
        "name": obj.name, "label": obj.label, "plural_label": obj.plural_label, "description": obj.description,
        "package": obj.package, "name_field": obj.name_field,
        "hierarchy_field": obj.hierarchy_field.name if obj.hierarchy_field and readable(obj.hierarchy_field.name) else None,
        "track_history": obj.track_history, "history_fields": list(obj.history_fields),
        "fields": system + [describe_field(f, show_expressions=customizer) for f in obj.fields.values()
                            if readable(f.name)],
        "validation_rules": [{"name": r.name, **({"condition": r.condition} if customizer else {}),
                              "message": r.message, "field": r.field if r.field and readable(r.field) else None}
                             for r in obj.validation_rules],
        # child records edited as rows of this one (records/rows.py), and whether this object is such a child
        "rows": [{"name": rd.name, "label": rd.label, "object": rd.object, "relationship": rd.relationship,
                  "max_rows": rd.max_rows} for rd in obj.rows.values() if access.can(rd.object, "read")],
        "row_of": list(obj.row_links),
        "one_parent_of": list(obj.one_parent),
        "layouts": [c.name for c in runtime.metadata.layouts_for(obj.name)],
        "list_views": [{"name": c.name, "label": c.get("label")} for c in runtime.metadata.list_views_for(obj.name)],
    }
