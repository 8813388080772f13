"""Record pages (layout sections, highlights, stage path, related lists), create/edit forms,
clone and delete."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for

from ...meta.currencies import CURRENCY_FIELD
from ...meta.fieldtypes import FILE_TYPES, RELATION_TYPES
from ...records.errors import DuplicatesFound, RecordError, StaleVersion
from .context import access, actor, forbidden, records, rt, safe_return, services, ui, user_info
from .display import plain_text, render_value
from .expr import expr_literal
from .forms import (build_sections, default_values, editable_fields, form_layout, is_editable,
                    lookup_name, lookup_paths, read_form, to_api_values, to_form_value)
from .forms_rows import add_grids, form_errors, read_rows, saved_rows, split_errors
from .history import history_list
from .meta import (color_for, column, columns, display_def, field_def, layout_for, list_views_for, name_field,
                   object_icon, query_fields, readable_name_field, record_title, require_app, require_object)
from .views_approvals import record_approvals
from .views_duplicates import duplicates_card
from .views_activities import timeline_card
from .views_files import attachment_card, create_file_from_form, take_uploads
from .views_nav import nav_context

RELATED_ROWS = 10
PATH_FIELDS = ("stage", "status")


def _readable(obj, names) -> list[str]:
    return [n for n in names if field_def(obj, n) is not None and access().can_read_field(obj.name, n)]


def _load(obj, record_id, names) -> dict:
    """The record with its `_access` level: the record service decides what this user may do to
    this record (object rights and sharing), so the page offers only what will succeed."""
    nf = name_field(obj)
    wanted = list(dict.fromkeys([*(_readable(obj, [nf]) if nf else []), *names]))
    fields = list(dict.fromkeys([*wanted, *lookup_paths(obj, wanted)]))
    return records().get(actor(), obj.name, record_id, fields=fields, with_access=True)


def can_edit_record(record) -> bool:
    return record.get("_access") in ("edit", "full")


def can_delete_record(record) -> bool:
    return record.get("_access") == "full"


def _item(obj, name, record, app_name, *, can_edit_record: bool) -> dict:
    f = field_def(obj, name)
    shown = display_def(f)
    text = None
    if f.type in RELATION_TYPES:
        text = next((record[k] for k in record if k.startswith(name + ".")), None)
    return {"name": name, "label": f.label, "help": f.help, "type": f.type,
            "html": render_value(shown, record.get(name), app_name=app_name, lookup_text=text,
                                 currency=record.get(CURRENCY_FIELD)),
            "editable": can_edit_record and is_editable(obj, name, "edit") and f.type not in FILE_TYPES,
            "wide": f.type in ("textarea", "rich_text", "json")}


@ui.get("/<app_name>/<object_name>/<record_id>")
def record_page(app_name, object_name, record_id):
    app = require_app(app_name)
    obj = require_object(object_name)
    layout = layout_for(obj)
    section_fields = [_readable(obj, s["fields"]) for s in layout["sections"]]
    path_field = next((obj.fields[n] for n in PATH_FIELDS if n in obj.fields and obj.fields[n].type == "picklist"
                       and access().can_read_field(obj.name, n)), None)
    names = [n for fs in section_fields for n in fs] + ([path_field.name] if path_field else [])
    if obj.history_fields:   # the History list ends with who created the record, and when
        names += _readable(obj, ["created_at", "created_by"])
    record = _load(obj, record_id, names)
    can_edit = can_edit_record(record)
    approval = record_approvals(obj, record["id"], can_edit)
    locked = bool(approval and approval["locked_for_me"])   # pending approval: the lock refuses this user
    can_edit = can_edit and not locked
    sections = []
    for s, fs in zip(layout["sections"], section_fields):
        items = [_item(obj, n, record, app_name, can_edit_record=can_edit) for n in fs]
        if items:
            sections.append({"label": s["label"], "columns": s["columns"], "items": items})
    nf = name_field(obj)
    first = section_fields[0] if section_fields else []
    highlights = [_item(obj, n, record, app_name, can_edit_record=False)
                  for n in first if n not in (nf, "owner") and field_def(obj, n).type not in ("textarea", "rich_text", "json")][:4]
    path = None
    if path_field is not None:
        current = record.get(path_field.name)
        from .meta import picklist_options
        opts = picklist_options(path_field)
        idx = next((i for i, (v, _l) in enumerate(opts) if v == current), -1)
        editable = can_edit and is_editable(obj, path_field.name, "edit")
        # a state machine: only the steps the record may move to from here are buttons
        moves = records().allowed_values(actor(), obj.name, path_field.name, current, record["id"]) if editable else None
        path = {"field": path_field, "current": current, "editable": editable,
                "steps": [{"value": v, "label": l, "state": "done" if i < idx else "current" if i == idx else "todo",
                           "allowed": moves is None or v in moves}
                          for i, (v, l) in enumerate(opts)]}
    related = _related(app_name, obj, record, layout["related_lists"])
    history = history_list(app_name, obj, record)
    attachments = attachment_card(app_name, obj, record, can_edit)
    timeline = timeline_card(app_name, obj, record, can_edit)
    duplicates = duplicates_card(app_name, obj, record)
    from .views_conversion import conversion_button
    conversion = conversion_button(obj, record, can_edit)
    from .views_automation import record_automation
    automation = record_automation(obj, record["id"], can_edit)
    here = request.full_path.rstrip("?")
    return render_template(
        "app/record.html", app=app, obj=obj, record=record, title=record_title(obj, record), sections=sections,
        highlights=highlights, path=path, related=related, here=here,
        can_edit=can_edit, can_create=access().can(obj.name, "create"),
        can_delete=can_delete_record(record) and not locked, locked=locked,
        read_only=not can_edit and not locked and access().can(obj.name, "edit"),
        history=history, automation=automation, approval=approval, attachments=attachments, timeline=timeline,
        duplicates=duplicates, conversion=conversion, icon=object_icon(obj.name), color=color_for(obj.name),
        list_url=url_for("ui.list_view", app_name=app_name, object_name=obj.name),
        **nav_context(app, obj.name))


def _related(app_name, obj, record, related_lists) -> list[dict]:
    md = rt().metadata
    out = []
    for rl in related_lists:
        child = md.objects.get(rl.get("object"))
        fname = rl.get("field")
        if child is None or fname not in child.fields or not access().can(child.name, "read") \
                or not access().can_read_field(child.name, fname):
            continue
        paths = rl.get("columns") or [p for p in list_views_for(child)[0]["columns"] if p != fname][:4]
        nf = name_field(child)
        cols = columns(child, paths)
        if nf and not any(c.link_id == "id" for c in cols) and column(child, nf) is not None:
            cols.insert(0, column(child, nf))
        item = {"label": rl.get("label") or child.plural_label, "object": child, "columns": cols, "rows": [],
                "total": 0, "error": None, "icon": object_icon(child.name), "color": color_for(child.name),
                "new_url": None}
        try:
            res = records().query(actor(), child.name, filter=f"{fname} == {expr_literal(record['id'])}",
                                  fields=query_fields(cols) or ["id"], sort=["-created_at"], limit=RELATED_ROWS,
                                  count=True)
            item["rows"], item["total"] = res.records, res.total or 0
        except RecordError as exc:
            item["error"] = exc.message
        # a detail under a controlled_by_parent master needs edit access to that master record
        under_master = child.fields[fname].type == "master_detail" and child.sharing_model == "controlled_by_parent"
        if access().can(child.name, "create") and is_editable(child, fname, "create") \
                and (can_edit_record(record) or not under_master):
            here = url_for("ui.record_page", app_name=app_name, object_name=obj.name, record_id=record["id"])
            item["new_url"] = url_for("ui.new_record", app_name=app_name, object_name=child.name) + "?" + urlencode(
                {fname: record["id"], "_return": here})
        out.append(item)
    return out


# -- forms -------------------------------------------------------------------------------------------
def _prefill(obj, args, names) -> dict:
    return {n: (args.getlist(n) if field_def(obj, n).type == "multi_picklist" else args.get(n, "")[:4000])
            for n in names if n in args}


def _clone_values(obj, record_id, names) -> dict:
    try:
        src = records().get(actor(), obj.name, record_id, fields=_readable(obj, names))
    except RecordError:
        return {}
    out = {}
    for n in names:
        f = field_def(obj, n)
        if f is None or n == "owner" or getattr(f, "unique", False) or n not in src:
            continue   # unique values would collide: the copy starts without them
        out[n] = to_form_value(f, src.get(n))
    return out


def _duplicates(exc) -> dict | None:
    """A save refused by duplicate rules: the matches to show, and whether it may be overridden."""
    if not isinstance(exc, DuplicatesFound):
        return None
    return {"findings": exc.details.get("duplicates", ()), "overridable": exc.details.get("overridable", False)}


def _warn_duplicates(obj, record) -> None:
    """Saved, with warnings of duplicate rules: said on the next page (the record page's card lists them)."""
    for w in record.get("_warnings") or ():
        flash(f"Saved as a possible duplicate: {w['message']}", "warning")


def _render_form(app, obj, *, mode, values, errors=None, top=None, record=None, status=200, lookup_texts=None,
                 rows=None, row_errors=None, duplicates=None):
    sections = build_sections(obj, mode=mode, values=values, errors=errors or {}, record=record,
                              app_name=app.name, lookup_texts=lookup_texts)
    add_grids(sections, obj, rows=rows or {}, errors=row_errors or {}, app_name=app.name)
    ret = safe_return(request.values.get("_return"), "")
    cancel = ret or (url_for("ui.record_page", app_name=app.name, object_name=obj.name, record_id=record["id"])
                     if record else url_for("ui.list_view", app_name=app.name, object_name=obj.name))
    title = (f"Edit {record_title(obj, record)}" if mode == "edit" else f"New {obj.label}")
    return render_template("app/form.html", app=app, obj=obj, mode=mode, sections=sections, top_errors=top or [],
                           record=record, title=title, return_to=ret, cancel_url=cancel,
                           icon=object_icon(obj.name), color=color_for(obj.name),
                           required_any=any(w.required for s in sections for w in s["widgets"]),
                           duplicates=duplicates,
                           **nav_context(app, obj.name)), status


@ui.route("/<app_name>/<object_name>/new", methods=["GET", "POST"])
def new_record(app_name, object_name):
    app = require_app(app_name)
    obj = require_object(object_name, "create")
    names = editable_fields(obj, "create")
    if request.method == "GET":
        values = default_values(obj)
        if "owner" in names:
            values["owner"] = str(actor().user_id or "")
        if request.args.get("_clone"):
            values.update(_clone_values(obj, request.args["_clone"], names))
        values.update(_prefill(obj, request.args, names))
        texts = {"owner": user_info().get("full_name", "")} if values.get("owner") == str(actor().user_id) else {}
        return _render_form(app, obj, mode="create", values=values, lookup_texts=texts)
    if obj.name == "file":   # a new file is an upload (ui/views_files.py)
        return create_file_from_form(app, obj, _render_form)
    raw = read_form(obj, names, request.form)
    upload_errors = {}
    take_uploads(obj, names, raw, upload_errors)
    data, conv_errors = to_api_values(obj, raw, mode="create")
    conv_errors.update(upload_errors)
    rows_data, rows_raw, rows_conv = read_rows(obj, request.form)
    data.update(rows_data)
    if conv_errors or rows_conv:
        _own, grid_errors = split_errors(rows_conv, obj)
        return _render_form(app, obj, mode="create", values=raw, errors=conv_errors, rows=rows_raw,
                            row_errors=grid_errors, top=["Please fix the highlighted fields."], status=422)
    try:
        rec = records().create(actor(), obj.name, data, allow_duplicates=bool(request.form.get("_allow_duplicates")))
    except RecordError as exc:
        top, by_field, grid_errors = form_errors(exc, obj, set(names))
        return _render_form(app, obj, mode="create", values=raw, errors=by_field, top=top, status=exc.status,
                            rows=rows_raw, row_errors=grid_errors, duplicates=_duplicates(exc))
    flash(f"{obj.label} “{record_title(obj, rec)}” was created.", "success")
    _warn_duplicates(obj, rec)
    dest = safe_return(request.form.get("_return"), "") or url_for(
        "ui.record_page", app_name=app.name, object_name=obj.name, record_id=rec["id"])
    if request.form.get("_another"):
        dest = url_for("ui.new_record", app_name=app.name, object_name=obj.name)
    return redirect(dest)


def _form_record(obj, record_id):
    shown = [n for s in form_layout(obj, "edit") for n in s["fields"]]
    return _load(obj, record_id, shown)


def _lookup_texts(obj, record, values) -> dict:
    out = {}
    for key, text in record.items():
        if "." in key:
            n = key.split(".", 1)[0]
            if values.get(n) == record.get(n):
                out[n] = text or ""
    return out


@ui.route("/<app_name>/<object_name>/<record_id>/edit", methods=["GET", "POST"])
def edit_record(app_name, object_name, record_id):
    app = require_app(app_name)
    obj = require_object(object_name, "edit")
    record = _form_record(obj, record_id)
    names = editable_fields(obj, "edit")
    if request.method == "GET":
        if not can_edit_record(record):   # a POST goes on to the record service, which refuses it
            forbidden(f"You can view this {obj.label.lower()} but not edit it.")
        if services().approvals.locked_for(actor(), obj.name, record["id"]):
            forbidden(f"This {obj.label.lower()} is locked while it awaits approval.")
        values = {n: to_form_value(field_def(obj, n), record.get(n)) for n in names}
        return _render_form(app, obj, mode="edit", values=values, record=record,
                            lookup_texts=_lookup_texts(obj, record, values), rows=saved_rows(obj, record["id"]))
    raw = read_form(obj, names, request.form)
    upload_errors = {}
    take_uploads(obj, names, raw, upload_errors)
    texts = _lookup_texts(obj, record, raw)
    data, conv_errors = to_api_values(obj, raw, mode="edit", current=record)
    conv_errors.update(upload_errors)
    rows_data, rows_raw, rows_conv = read_rows(obj, request.form)
    data.update(rows_data)
    if conv_errors or rows_conv:
        _own, grid_errors = split_errors(rows_conv, obj)
        return _render_form(app, obj, mode="edit", values=raw, errors=conv_errors, record=record,
                            top=["Please fix the highlighted fields."], status=422, lookup_texts=texts,
                            rows=rows_raw, row_errors=grid_errors)
    version = request.form.get("_row_version", "")
    try:
        if data:
            saved = records().update(actor(), obj.name, record["id"], data,
                                     expected_version=int(version) if version.isdigit() else None,
                                     allow_duplicates=bool(request.form.get("_allow_duplicates")))
            _warn_duplicates(obj, saved)
    except StaleVersion:
        return _render_form(app, obj, mode="edit", values=raw, record=record, status=412, lookup_texts=texts,
                            rows=rows_raw, top=["Someone else changed this record while you were editing it. Your changes are "
                                 "still in the form: open the record in another tab to compare, then save again."])
    except RecordError as exc:
        top, by_field, grid_errors = form_errors(exc, obj, set(names))
        return _render_form(app, obj, mode="edit", values=raw, errors=by_field, top=top, record=record,
                            status=exc.status, lookup_texts=texts, rows=rows_raw, row_errors=grid_errors,
                            duplicates=_duplicates(exc))
    flash(f"{obj.label} “{record_title(obj, record)}” was saved." if data else "Nothing changed.", "success")
    dest = safe_return(request.form.get("_return"), "") or url_for(
        "ui.record_page", app_name=app.name, object_name=obj.name, record_id=record["id"])
    return redirect(dest)


@ui.get("/<app_name>/<object_name>/<record_id>/clone")
def clone_record(app_name, object_name, record_id):
    require_app(app_name)
    obj = require_object(object_name, "create")
    return redirect(url_for("ui.new_record", app_name=app_name, object_name=obj.name) + "?" +
                    urlencode({"_clone": record_id}))


@ui.post("/<app_name>/<object_name>/<record_id>/delete")
def delete_record(app_name, object_name, record_id):
    require_app(app_name)
    obj = require_object(object_name, "delete")
    page = url_for("ui.record_page", app_name=app_name, object_name=obj.name, record_id=record_id)
    title = None
    nf = readable_name_field(obj)
    try:
        if nf:
            title = records().get(actor(), obj.name, record_id, fields=[nf]).get(nf)
        records().delete(actor(), obj.name, record_id)
    except RecordError as exc:
        if exc.status == 404:
            raise
        flash(f"Not deleted: {exc.message}", "danger")
        return redirect(page)
    flash(f"{obj.label} “{title or record_id}” was deleted.", "success")
    return redirect(safe_return(request.form.get("_return"), "") or
                    url_for("ui.list_view", app_name=app_name, object_name=obj.name))


def field_plain(obj, name, record) -> str:
    f = field_def(obj, name)
    return plain_text(display_def(f), record.get(name)) if f else ""


__all__ = ["record_page", "new_record", "edit_record", "clone_record", "delete_record", "lookup_name"]
