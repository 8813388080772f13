"""The conversion page of a record (a lead's "Convert"): each target with the values it would get
and, where an existing record may be used, the records its object's duplicate rules match; a
target that is not required may be left out. Posting converts through tessera/conversion (one
transaction); a refusal shows the page again with the message and the choices kept."""
from __future__ import annotations

from flask import flash, redirect, render_template, request

from ...conversion import ConversionService
from ...records.errors import RecordError
from .context import actor, records, ui
from .display import record_url
from .meta import color_for, object_icon, record_title, require_app, require_object
from .views_nav import nav_context


def _service() -> ConversionService:
    return ConversionService(records())


def conversion_button(obj, record, can_edit: bool):
    """The record page's Convert button: the conversion, when this record may be converted now."""
    if not can_edit:
        return None
    try:
        return _service().available(actor(), obj.name, record["id"])
    except RecordError:
        return None


def _choices(form, preview) -> dict:
    """The form's choice per target: "new", "skip" or "existing:<id>"."""
    targets = {}
    for t in preview["targets"]:
        choice = form.get(f"target.{t['name']}", "new")
        if choice == "skip":
            targets[t["name"]] = {"skip": True}
        elif choice.startswith("existing:"):
            targets[t["name"]] = {"id": choice.split(":", 1)[1]}
    return targets


@ui.route("/<app_name>/<object_name>/<record_id>/convert", methods=["GET", "POST"])
def convert_page(app_name, object_name, record_id):
    app = require_app(app_name)
    obj = require_object(object_name)
    service = _service()
    try:
        preview = service.preview(actor(), obj.name, record_id)
    except RecordError as exc:
        flash(f"Cannot convert: {exc.message}", "danger")
        return redirect(record_url(app_name, obj.name, record_id))
    page = record_url(app_name, obj.name, preview["record"]["id"])
    error, chosen = None, {t["name"]: "new" for t in preview["targets"]}
    if request.method == "POST":
        chosen.update({t["name"]: request.form.get(f"target.{t['name']}", "new") for t in preview["targets"]})
        try:
            result = service.convert(actor(), obj.name, record_id, {"targets": _choices(request.form, preview),
                                     "allow_duplicates": request.form.get("allow_duplicates") == "1"})
        except RecordError as exc:
            error = exc.message
        else:
            made = [f"{t['label'].lower()} {'created' if result['targets'][t['name']]['created'] else 'linked'}"
                    for t in preview["targets"] if result["targets"].get(t["name"])]
            flash(f"Converted: {', '.join(made)}.", "success")
            return redirect(page)
    for t in preview["targets"]:
        target_obj = require_object(t["object"])
        t["icon"], t["color"] = object_icon(t["object"]), color_for(t["object"])
        t["fields"] = [(target_obj.fields[n].label if n in target_obj.fields else n, v)
                       for n, v in t["values"].items() if v not in (None, "", False)]
        t["matches"] = [{**m, "url": record_url(app_name, t["object"], m["id"])}
                        for f in t["duplicates"] for m in f["matches"]]
    status = 422 if error else 200
    return render_template("app/convert.html", app=app, obj=obj, preview=preview, error=error, chosen=chosen,
                           page=page, title=record_title(obj, preview["record"]),
                           icon=object_icon(obj.name), color=color_for(obj.name),
                           **nav_context(app, obj.name)), status
