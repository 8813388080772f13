"""Rows fields in generated forms: the parent's form edits its child rows in a grid (records/rows.py).

Each row's inputs are named `<rows field>.<n>.<field>` (and `<rows field>.<n>.id` for a saved row);
the grid's script (static/app.js) adds, deletes and reorders rows — by drag and by the up/down
buttons — and renumbers the names so that n is the row's place. A hidden `<rows field>.__present`
input says the grid was in the form: the submitted rows then REPLACE the record's rows (an empty
grid deletes them all). Values are converted with the same per-field rules as the parent's fields,
and errors come back per row and field (`line_items[2].quantity`) next to the cell.
"""
from __future__ import annotations

import re

from ...meta.fieldtypes import SYSTEM_FIELDS
from ...meta.model import ObjectDef
from .context import access, rt
from .forms import _is_multi, is_editable, parse_value, to_form_value, widget
from .meta import layout_for

PRESENT = "__present"
_KEY = re.compile(r"^([a-z][a-z0-9_]*)\.(\d{1,4})\.([a-z][a-z0-9_]*)$")
_ERROR = re.compile(r"^([a-z][a-z0-9_]*)\[(\d+)\](?:\.(.+))?$")


def readable_rows(obj: ObjectDef) -> list:
    acc = access()
    return [rd for rd in obj.rows.values() if rd.relationship and rd.object in rt().metadata.objects
            and acc.can(rd.object, "read")]


def rows_by_section(obj: ObjectDef) -> tuple[dict[str, list], list]:
    """({section label: [rows fields placed in it]}, [rows fields the layout does not place])."""
    readable = {rd.name: rd for rd in readable_rows(obj) if grid_editable(rd)}
    placed, by_label = set(), {}
    for s in layout_for(obj)["sections"]:
        names = [n for n in s.get("rows", ()) if n in readable and n not in placed]
        placed.update(names)
        if names:
            by_label.setdefault(s["label"], []).extend(readable[n] for n in names)
    return by_label, [rd for n, rd in readable.items() if n not in placed]


def _columns(rd, mode: str) -> list:
    """The child's fields a grid shows: editable stored fields, then computed ones (shown read-only)."""
    acc = access()
    child = rt().metadata.objects[rd.object]
    names = [f.name for f in child.fields.values() if f.name != rd.relationship and f.name not in SYSTEM_FIELDS
             and acc.can_read_field(child.name, f.name) and f.type not in ("json", "rich_text", "textarea")]
    editable = [n for n in names if is_editable(child, n, mode)]
    return editable + [n for n in names if n not in editable]


def grid_editable(rd) -> bool:
    acc = access()
    return acc.can(rd.object, "create") or acc.can(rd.object, "edit")


def build_grid(rd, *, rows: list[dict], errors: dict, app_name: str) -> dict:
    """A grid: columns, one line of widgets per row (form values in `rows`: {id?, field: value}),
    a template line for new rows, and errors by row (index) and field."""
    child = rt().metadata.objects[rd.object]
    cols = _columns(rd, "edit")
    lines = []
    for i, row in enumerate(rows):
        mode = "edit" if row.get("id") else "create"
        row_errors = errors.get(i, {})
        cells = [widget(child, n, mode=mode, value=row.get(n, [] if _is_multi(child, n) else ""),
                        errors=row_errors.get(n), record=row.get("_record") or {}, app_name=app_name,
                        input_name=f"{rd.name}.{i}.{n}") for n in cols]
        lines.append({"id": row.get("id") or "", "cells": cells,
                      "errors": [m for k, msgs in row_errors.items() if k not in cols for m in msgs]})
    template = [widget(child, n, mode="create", value=[] if _is_multi(child, n) else "", app_name=app_name,
                       input_name=f"{rd.name}.__i__.{n}") for n in cols]
    return {"name": rd.name, "label": rd.label, "help": rd.help, "object": child,
            "columns": [child.fields[n] for n in cols], "lines": lines, "template": template,
            "errors": errors.get(None, []), "max_rows": rd.max_rows}


def record_rows(record: dict, rd) -> list[dict]:
    """The saved rows as form values (each keeps the API row to display read-only cells)."""
    child = rt().metadata.objects[rd.object]
    out = []
    for row in record.get(rd.name) or ():
        values = {n: to_form_value(f, row.get(n)) for n, f in child.fields.items() if n in row and f.stored}
        out.append({"id": row["id"], **values, "_record": row})
    return out


def read_rows(obj: ObjectDef, form) -> tuple[dict, dict, dict]:
    """(rows for the record service by rows field, the submitted form values by rows field,
    conversion errors keyed like the service's: `line_items[2].quantity`)."""
    data, raw, errors = {}, {}, {}
    for rd in readable_rows(obj):
        if f"{rd.name}.{PRESENT}" not in form or not grid_editable(rd):
            continue
        child = rt().metadata.objects[rd.object]
        editable = set(_columns(rd, "edit"))
        by_index: dict[int, dict] = {}
        for key in form.keys():
            m = _KEY.match(key)
            if m and m.group(1) == rd.name and (m.group(3) in editable or m.group(3) == "id"):
                value = form.getlist(key) if _is_multi(child, m.group(3)) else form.get(key, "")
                by_index.setdefault(int(m.group(2)), {})[m.group(3)] = value
        rows, values = [], []
        for k, index in enumerate(sorted(by_index)):
            submitted = by_index[index]
            values.append(submitted)
            row = {"id": submitted["id"]} if submitted.get("id") else {}
            for name, value in submitted.items():
                if name == "id":
                    continue
                try:
                    parsed = parse_value(child.fields[name], value)
                except ValueError as exc:
                    errors[f"{rd.name}[{k}].{name}"] = [str(exc)]
                    continue
                if parsed is None and not row.get("id") and name in _defaulted(child):
                    continue   # a new row: the service applies the default
                row[name] = parsed
            rows.append(row)
        data[rd.name], raw[rd.name] = rows, values
    return data, raw, errors


def _defaulted(child) -> set:
    cobj = rt().objects.get(child.name)
    return {f.name for f, _d in cobj.defaults} if cobj is not None else set()


def split_errors(fields: dict, obj: ObjectDef) -> tuple[dict, dict]:
    """(the parent's field errors, {rows field: {row index or None: {field: [messages]} / [messages]}})."""
    own, grids = {}, {}
    for key, msgs in (fields or {}).items():
        m = _ERROR.match(key)
        if m and m.group(1) in obj.rows:
            grid = grids.setdefault(m.group(1), {})
            grid.setdefault(int(m.group(2)), {}).setdefault(m.group(3) or "_record", []).extend(msgs)
        elif key in obj.rows:
            grids.setdefault(key, {}).setdefault(None, []).extend(msgs)
        else:
            own[key] = msgs
    return own, grids


def add_grids(sections: list[dict], obj: ObjectDef, *, rows: dict, errors: dict, app_name: str) -> None:
    """Put each editable rows field's grid in the form section its layout places it in, in layout
    order (a section of its own at the end when the layout does not place it)."""
    by_label, unplaced = rows_by_section(obj)

    def grids(rds):
        return [build_grid(rd, rows=rows.get(rd.name, []), errors=errors.get(rd.name, {}), app_name=app_name)
                for rd in rds]

    known = {s["label"]: s for s in sections}
    ordered = []
    for label in [s["label"] for s in layout_for(obj)["sections"]]:
        section = known.pop(label, None)
        if section is None and label in by_label:
            section = {"label": label, "columns": 1, "widgets": []}
        if section is not None and section not in ordered:
            section["grids"] = grids(by_label.get(label, ()))
            ordered.append(section)
    for section in known.values():   # sections the form adds itself (required fields the layout forgot)
        section.setdefault("grids", [])
        ordered.append(section)
    ordered += [{"label": rd.label, "columns": 1, "widgets": [], "grids": grids([rd])} for rd in unplaced]
    sections[:] = ordered


def saved_rows(obj: ObjectDef, record_id) -> dict:
    """{rows field: form rows} of a saved record (one read through the record service)."""
    if not readable_rows(obj):
        return {}
    from .context import actor, records
    record = records().get(actor(), obj.name, record_id)
    return {rd.name: record_rows(record, rd) for rd in readable_rows(obj)}


def form_errors(exc, obj: ObjectDef, shown: set[str]) -> tuple[list[str], dict, dict]:
    """error_messages for the parent's fields, plus the grids' errors by row and field."""
    from .forms import error_messages
    own, grids = split_errors(exc.fields, obj)
    if not grids:
        top, by_field = error_messages(exc, obj, shown)
        return top, by_field, {}
    exc.fields = own
    top, by_field = error_messages(exc, obj, shown) if own or (exc.details or {}).get("rules") else ([], {})
    if not top:
        top = ["Please fix the highlighted rows."]
    return top, by_field, grids
