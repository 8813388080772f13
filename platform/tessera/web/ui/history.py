"""The "History" related list of a record page: the newest field history entries, values shown as
the rest of the page shows them (lookups by name, picklists by label), read through the record
service (which leaves out fields the user cannot read)."""
from __future__ import annotations

from markupsafe import Markup

from ...meta.fieldtypes import RELATION_TYPES
from ...meta.model import ObjectDef
from ...records.errors import RecordError
from .context import actor, records, rt
from .display import render_value
from .expr import expr_literal
from .meta import display_def, field_def, readable_name_field

HISTORY_ROWS = 10


def history_list(app_name: str, obj: ObjectDef, record: dict) -> dict | None:
    """The list's rows (newest first), or None when the object tracks no field. `record` may hold
    created_at / created_by (and its name): when the whole history fits, the list ends with
    "Created", as Salesforce's does."""
    if not obj.history_fields:
        return None
    out = {"rows": [], "more": False, "error": None}
    try:
        page = records().history(actor(), obj.name, record["id"], limit=HISTORY_ROWS)
    except RecordError as exc:
        out["error"] = exc.message
        return out
    fields = {e["field"]: field_def(obj, e["field"]) for e in page.records}
    refs: dict[str, set[str]] = {"user": {e["changed_by"] for e in page.records if e["changed_by"]}}
    for e in page.records:
        f = fields[e["field"]]
        if f is not None and f.type in RELATION_TYPES:
            refs.setdefault(f.options["to"], set()).update(v for v in (e["old_value"], e["new_value"]) if v)
    names = _names(refs)
    when, by = field_def(obj, "updated_at"), field_def(obj, "updated_by")

    def show(f, value):
        text = names.get((f.options.get("to"), value)) if f.type in RELATION_TYPES else None
        return render_value(display_def(f), value, app_name=app_name, lookup_text=text, compact=True)

    for e in page.records:
        f = fields[e["field"]]
        if f is None:   # not a field any more (the API keeps only current fields: defensive)
            continue
        out["rows"].append({
            "date": render_value(when, e["changed_at"], app_name=app_name),
            "label": f.label, "field": f.name,
            "user": show(by, e["changed_by"]),
            "old": show(f, e["old_value"]), "new": show(f, e["new_value"])})
    out["more"] = page.next_cursor is not None
    if not out["more"] and record.get("created_at"):
        user_text = next((record[k] for k in record if k.startswith("created_by.")), None)
        out["rows"].append({
            "date": render_value(when, record["created_at"], app_name=app_name), "label": None, "field": None,
            "user": render_value(by, record.get("created_by"), app_name=app_name, lookup_text=user_text),
            "old": None, "new": Markup("Created.")})
    return out


def _names(refs: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """(object, id) -> the record's name, for the records the user can see (one query per object)."""
    out = {}
    for target, ids in refs.items():
        tobj = rt().metadata.objects.get(target)
        tname = readable_name_field(tobj) if tobj is not None and ids else None
        if not tname:
            continue
        try:
            found = records().query(actor(), target, filter=f"id in {expr_literal(sorted(ids))}",
                                    fields=[tname], limit=len(ids))
        except RecordError:
            continue
        out.update({(target, r["id"]): str(r.get(tname) or "") for r in found.records})
    return out
