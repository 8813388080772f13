"""What the point-and-click builders (the report builder, the list filter) may offer on an object:
its fields the signed-in user can read, each with what it may be used for. The server checks every
definition and expression again; this only decides what is shown."""
from __future__ import annotations

from ...meta.aggregates import ORDERED, SUMMABLE, UNGROUPABLE
from ...meta.fieldtypes import value_type
from .context import access, rt
from .meta import field_def, picklist_options

UNFILTERABLE = {"json", "rich_text", "geolocation"}


def condition_kind(ftype: str) -> str:
    """Which operators the condition builder offers (conditions.js OPS)."""
    if ftype in SUMMABLE - {"boolean"}:
        return "number"
    if ftype in ("date", "datetime"):
        return "date"
    if ftype in ("boolean", "picklist", "lookup", "master_detail"):
        return ftype if ftype in ("boolean", "picklist") else "lookup"
    return "text"


def object_fields(obj) -> list[dict]:
    md = rt().metadata
    fields = []
    for name in (*obj.fields, "owner", "created_at", "updated_at"):
        f = field_def(obj, name)
        if f is None or not access().can_read_field(obj.name, name):
            continue
        ftype = value_type(md, f) if f.type in ("formula", "rollup") else f.type
        fields.append({"name": name, "label": f.label, "type": ftype, "kind": condition_kind(ftype),
                       "column": ftype not in ("json", "rich_text"),
                       "group": ftype not in UNGROUPABLE and f.type != "multi_picklist",
                       "filter": ftype not in UNFILTERABLE and f.type != "multi_picklist",
                       "sum": ftype in SUMMABLE, "order": ftype in ORDERED,
                       "values": [v for v, _l in picklist_options(f)] if f.type == "picklist" else []})
    return fields
