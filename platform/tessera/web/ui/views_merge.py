"""Merging duplicates in /app: from the "Possible duplicates" card, a page that puts the record and
its duplicates side by side — every field that differs, a choice per field of whose value to keep —
and merges them into the record through the record service (records/merge.py: lookups, related
records, attachments and history move to it, the duplicates are deleted, one transaction)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request

from ...encryption.masking import PERMISSION as ENCRYPTED_PERMISSION
from ...records.errors import RecordError
from ...records.merge import MAX_MERGED
from .context import access, actor, records, ui
from .display import record_url, render_value
from .forms import form_layout, is_editable, lookup_paths
from .meta import (color_for, display_def, field_def, name_field, object_icon, record_title, require_app,
                   require_object)
from .views_nav import nav_context


def may_merge(obj) -> bool:
    return access().can(obj.name, "edit") and access().can(obj.name, "delete")


def _mergeable_fields(obj) -> list[str]:
    """Every field the user may edit — the layout's first, in its order, then the object's others:
    a value not on the layout is data all the same."""
    names = [n for s in form_layout(obj, "edit") for n in s["fields"]] + list(obj.fields)
    # an encrypted field the user sees masked is not theirs to choose: the mask is not a value
    masked = not access().system(ENCRYPTED_PERMISSION)
    return [n for n in dict.fromkeys(names) if n != "owner" and is_editable(obj, n, "edit")
            and not (masked and obj.fields[n].encrypted)]


@ui.route("/<app_name>/<object_name>/<record_id>/merge", methods=["GET", "POST"])
def merge_page(app_name, object_name, record_id):
    app = require_app(app_name)
    obj = require_object(object_name, "delete")
    page = record_url(app_name, obj.name, record_id)
    others = list(dict.fromkeys(request.values.getlist("with")))[:MAX_MERGED]
    if not others:
        flash("Choose the duplicates to merge into this record.", "warning")
        return redirect(page)
    names = _mergeable_fields(obj)
    nf = name_field(obj)
    wanted = list(dict.fromkeys([*([nf] if nf else []), *names]))
    wanted += [p for p in lookup_paths(obj, names) if p not in wanted]   # lookups shown by name
    try:
        master = records().get(actor(), obj.name, record_id, fields=wanted)
        duplicates = [records().get(actor(), obj.name, other, fields=wanted) for other in others if other != master["id"]]
    except RecordError as exc:
        flash(f"Cannot merge: {exc.message}", "danger")
        return redirect(page)
    candidates = [master, *duplicates]
    differing = [n for n in names if len({repr(c.get(n)) for c in candidates}) > 1]
    # by default the kept record's value, or where it has none the first duplicate's that has one
    default = {n: next((c["id"] for c in candidates if c.get(n) not in (None, "", [])), master["id"]) for n in differing}
    error = None
    if request.method == "POST":
        by_id = {c["id"]: c for c in candidates}
        values = {}
        for n in differing:
            source = by_id.get(request.form.get(f"keep.{n}", default[n]))
            if source is not None and source is not master:
                values[n] = source.get(n)
        try:
            result = records().merge(actor(), obj.name, master["id"], [d["id"] for d in duplicates], values)
        except RecordError as exc:
            error = exc.message
        else:
            moved = sum(result["moved"].values())
            flash(f"Merged {len(result['merged'])} duplicate{'s' if len(result['merged']) != 1 else ''} into this "
                  f"{obj.label.lower()}" + (f"; {moved} related record{'s' if moved != 1 else ''} moved to it" if moved else "")
                  + ".", "success")
            return redirect(page)
    rows = []
    for n in differing:
        f = field_def(obj, n)
        rows.append({"name": n, "label": f.label, "cells": [
            {"id": c["id"], "html": render_value(display_def(f), c.get(n), app_name=app_name, compact=True,
                                                 lookup_text=next((c[k] for k in c if k.startswith(n + ".")), None)),
             "checked": request.form.get(f"keep.{n}", default[n]) == c["id"]} for c in candidates]})
    status = 422 if error else 200
    return render_template("app/merge.html", app=app, obj=obj, master=master, candidates=candidates, rows=rows,
                           error=error, page=page, title=record_title(obj, master),
                           titles={c["id"]: record_title(obj, c) for c in candidates},
                           icon=object_icon(obj.name), color=color_for(obj.name), **nav_context(app, obj.name)), status
