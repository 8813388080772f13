"""Object descriptions for `GET /api/v1/objects[/{name}]`, computed from the Runtime."""
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
                "expression", "object", "relationship", "function", "field", "filter", "format")


def list_objects(runtime) -> list[dict]:
    return [{"name": o.name, "label": o.label, "plural_label": o.plural_label, "package": o.package}
            for o in sorted(runtime.metadata.objects.values(), key=lambda o: o.name)]


def describe_field(f) -> dict:
    out = {"name": f.name, "type": f.type, "label": f.label, "help": f.help, "required": f.required,
           "unique": f.unique, "read_only": f.read_only, "system": False}
    for key in _OPTION_KEYS:
        if key in f.options:
            out[key] = f.options[key]
    if f.type in ("picklist", "multi_picklist"):
        out["values"] = [v if isinstance(v, dict) else {"value": v, "label": v} for v in f.options.get("values", ())]
    if f.options.get("transitions") is not None:   # a state machine (records/transitions.py)
        out["transitions"] = [{**t, **{k: [t[k]] if isinstance(t[k], str) else list(t[k]) for k in ("from", "to")}}
                              for t in f.options["transitions"]]
    if f.options.get("initial"):
        out["initial"] = list(f.options["initial"])
    if f.default is not None:
        out["default"] = f.default
    if f.default_expression:
        out["default_expression"] = f.default_expression
    return out


def describe_object(runtime, name: str) -> dict:
    obj = runtime.metadata.objects.get(name)
    if obj is None:
        raise NotFound(f"there is no object '{name}'")
    system = [{**s, "required": False, "unique": s["name"] == "id", "read_only": s["name"] != "owner", "system": True}
              for s in _SYSTEM]
    return {
        "name": obj.name, "label": obj.label, "plural_label": obj.plural_label, "description": obj.description,
        "package": obj.package, "name_field": obj.name_field,
        "track_history": obj.track_history, "history_fields": list(obj.history_fields),
        "fields": system + [describe_field(f) for f in obj.fields.values()],
        "validation_rules": [{"name": r.name, "condition": r.condition, "message": r.message, "field": r.field}
                             for r in obj.validation_rules],
        "layouts": [c.name for c in runtime.metadata.layouts_for(obj.name)],
        "list_views": [{"name": c.name, "label": c.get("label")} for c in runtime.metadata.list_views_for(obj.name)],
    }
