"""Small JSON endpoints for the pages' JavaScript (session cookie + `X-CSRFToken` header):

  PATCH /app/_api/records/<object>/<id>                 {"values": {field: form value}} → records.update
  GET   /app/_api/records/<object>/<id>/editor/<field>  the inline editor's HTML for one field
  GET   /app/_api/lookup/<object>?q=                    type-ahead for lookups (name contains q)
  GET   /app/_api/copies/<object>/<lookup>?id=          copy-on-select values for a lookup's choice

Values arrive as a form would send them (strings; lists for multi-picklists) or as API values,
and go through the same conversion as forms. Only fields the actor may edit are accepted.
"""
from __future__ import annotations

from flask import get_template_attribute, jsonify, request

from ...meta.fieldtypes import RELATION_TYPES
from ...records.errors import BadQuery, Forbidden, RecordError, ValidationFailed
from .context import actor, records, rt, ui
from .display import render_value
from .expr import clean_search, contains_all
from .forms import is_editable, lookup_paths, parse_value, to_form_value, widget
from .meta import display_def, field_def, readable_name_field, record_title, require_object

LOOKUP_LIMIT = 20


@ui.route("/_api/records/<object_name>/<record_id>", methods=["PATCH"])
def patch_record(object_name, record_id):
    obj = require_object(object_name, "edit")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadQuery("the request body must be a JSON object")
    values = body.get("values", body)
    app_name = str(body.get("app") or "")
    if not isinstance(values, dict) or not values:
        raise BadQuery("send {\"values\": {field: value}}")
    data, errors = {}, {}
    for name, raw in values.items():
        f = field_def(obj, name) if isinstance(name, str) else None
        if f is None or not is_editable(obj, name, "edit"):
            raise Forbidden(f"you cannot edit '{name}'", fields={str(name): ["you cannot edit this field"]})
        try:
            data[name] = parse_value(f, raw)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationFailed("; ".join(f"{field_def(obj, n).label}: {m[0]}" for n, m in errors.items()),
                               fields=errors)
    version = body.get("row_version")
    updated = records().update(actor(), obj.name, record_id, data,
                               expected_version=version if isinstance(version, int) and not isinstance(version, bool) else None)
    names = list(data)
    shown = records().get(actor(), obj.name, record_id, fields=list(dict.fromkeys([*names, *lookup_paths(obj, names)])))
    display, form_values = {}, {}
    for n in names:
        f = field_def(obj, n)
        text = next((shown[k] for k in shown if k.startswith(n + ".")), None) if f.type in RELATION_TYPES else None
        display[n] = str(render_value(display_def(f), shown.get(n), app_name=app_name or _any_app(), lookup_text=text))
        form_values[n] = to_form_value(f, shown.get(n))
    return jsonify(id=updated["id"], row_version=updated.get("_row_version"), display=display, values=form_values,
                   title=record_title(obj, updated) if readable_name_field(obj) in updated else None)


def _any_app() -> str:
    apps = sorted(rt().metadata.apps)
    return apps[0] if apps else "home"


@ui.get("/_api/records/<object_name>/<record_id>/editor/<field_name>")
def field_editor(object_name, record_id, field_name):
    obj = require_object(object_name, "edit")
    f = field_def(obj, field_name)
    if f is None or not is_editable(obj, field_name, "edit"):
        raise Forbidden(f"you cannot edit '{field_name}'")
    rec = records().get(actor(), obj.name, record_id, with_access=True,
                        fields=list(dict.fromkeys([field_name, *lookup_paths(obj, [field_name])])))
    if rec["_access"] == "read":
        raise Forbidden(f"you have read-only access to {obj.name} '{record_id}'")
    text = next((rec[k] for k in rec if k.startswith(field_name + ".")), "") if f.type in RELATION_TYPES else ""
    app_name = request.args.get("app") or _any_app()
    w = widget(obj, field_name, mode="edit", value=to_form_value(f, rec.get(field_name)), record=rec,
               app_name=app_name, lookup_text=text or "", input_name=field_name)
    render = get_template_attribute("app/_form.html", "field_input")
    return jsonify(html=str(render(w)), label=f.label, row_version=rec.get("_row_version"))


@ui.get("/_api/lookup/<object_name>")
def lookup_search(object_name):
    obj = require_object(object_name)
    nf = readable_name_field(obj)
    if nf is None:
        return jsonify(results=[], more=False)
    q = clean_search(request.args.get("q"))
    try:
        res = records().query(actor(), obj.name, filter=contains_all(nf, q) if q else None, fields=[nf],
                              sort=[nf], limit=LOOKUP_LIMIT + 1)
    except RecordError as exc:
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
    rows = res.records
    return jsonify(results=[{"id": r["id"], "text": str(r.get(nf) or r["id"])} for r in rows[:LOOKUP_LIMIT]],
                   more=len(rows) > LOOKUP_LIMIT)


@ui.get("/_api/copies/<object_name>/<lookup>")
def copied_values(object_name, lookup):
    """The form values of the copy-on-select fields `lookup` fills when the user picks `id`."""
    obj = require_object(object_name)
    try:
        values = records().copied_values(actor(), obj.name, lookup, request.args.get("id") or "")
    except RecordError as exc:
        return jsonify(error={"code": exc.code, "message": exc.message}), exc.status
    return jsonify(values={name: to_form_value(obj.fields[name], value) for name, value in values.items()})
