"""Files in /app: the Attachments card of record pages (upload several at once, drag and drop,
previews of images and PDFs, remove), downloads with the session, and file fields in forms.

Everything goes through files.FileService with the signed-in actor, so the page offers exactly
what the service allows: attachments follow the record's access; a file field's upload is checked
against its accepted types. Uploads a form made but did not save are deleted again (see
`_discard_unsaved_uploads`): nothing is half-stored when a form comes back with errors.
"""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from markupsafe import Markup

from ...meta.fieldtypes import FILE_TYPES
from ...records.errors import RecordError
from ...security.actor import SYSTEM
from ..file_responses import file_response
from .context import actor, services, ui
from .display import EMPTY
from .meta import require_app, require_object

MAX_FILES = 20
PREVIEW = {"image/png": "image", "image/jpeg": "image", "image/gif": "image", "image/webp": "image",
           "application/pdf": "pdf"}


def files():
    return services().files


def human_size(n) -> str:
    if n is None:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def content_url(file_id) -> str:
    return url_for("ui.file_content", file_id=file_id)


@ui.get("/_files/<file_id>/content")
def file_content(file_id):
    return file_response(files().open(actor(), file_id))


# -- the Attachments card ------------------------------------------------------------------------
def attachment_card(app_name, obj, record, can_edit) -> dict | None:
    """What the record page's Attachments card shows; None for objects that take no attachments.
    A file's own page gets its content instead: download and preview."""
    if obj.name == "file":
        info = files().describe(actor(), record["id"])
        if not info or not info.get("storage_key"):
            return None
        content_type = info.get("content_type") or ""
        return {"content": {"url": content_url(record["id"]), "name": info.get("name"),
                            "preview": PREVIEW.get(content_type), "size_text": human_size(info.get("size"))},
                "items": []}
    if not obj.attachments:
        return None
    try:
        items = files().attachments(actor(), obj.name, record["id"])
    except RecordError as exc:
        return {"error": exc.message, "items": [], "can_edit": False}
    shown = [{**f, "url": content_url(f["id"]), "size_text": human_size(f.get("size")),
              "preview": PREVIEW.get(f.get("content_type") or ""),
              "delete_url": url_for("ui.detach_file", app_name=app_name, object_name=obj.name,
                                    record_id=record["id"], file_id=f["id"])} for f in items]
    return {"items": shown, "can_edit": can_edit, "max_mb": files().max_bytes / 1024 / 1024,
            "upload_url": url_for("ui.attach_files", app_name=app_name, object_name=obj.name, record_id=record["id"])}


def _record_page(app_name, obj, record_id) -> str:
    return url_for("ui.record_page", app_name=app_name, object_name=obj.name, record_id=record_id) + "#attachments"


@ui.post("/<app_name>/<object_name>/<record_id>/attachments")
def attach_files(app_name, object_name, record_id):
    require_app(app_name)
    obj = require_object(object_name)
    page = _record_page(app_name, obj, record_id)
    parts = [p for p in request.files.getlist("file") if p.filename]
    if not parts:
        flash("Choose one or more files to attach.", "warning")
        return redirect(page)
    if len(parts) > MAX_FILES:
        flash(f"Attach at most {MAX_FILES} files at once.", "danger")
        return redirect(page)
    made = []
    try:
        for part in parts:
            made.append(files().upload(actor(), part.stream, part.filename, claimed_type=part.mimetype,
                                       attach_to=(obj.name, record_id)))
    except RecordError as exc:
        for f in made:
            files().delete(SYSTEM, f["id"])
        if exc.status == 404:
            raise
        name = parts[len(made)].filename
        flash(f"Nothing was attached: {name}: {exc.message}" if len(parts) > 1 else f"Not attached: {exc.message}",
              "danger")
        return redirect(page)
    flash(f"Attached {', '.join(f['name'] for f in made)}.", "success")
    return redirect(page)


@ui.post("/<app_name>/<object_name>/<record_id>/attachments/<file_id>/delete")
def detach_file(app_name, object_name, record_id, file_id):
    require_app(app_name)
    obj = require_object(object_name)
    page = _record_page(app_name, obj, record_id)
    try:
        files().detach(actor(), obj.name, record_id, file_id)
    except RecordError as exc:
        if exc.status == 404:
            raise
        flash(f"Not removed: {exc.message}", "danger")
        return redirect(page)
    flash("The attachment was removed.", "success")
    return redirect(page)


# -- a new file: the core file object's "New" form uploads ------------------------------------
def create_file_from_form(app, obj, render_form):
    """POST of /app/<app>/file/new: the chosen content becomes the file (its name defaults to the
    uploaded one); the form comes back with the problem otherwise."""
    raw = {"name": request.form.get("name", ""), "description": request.form.get("description", "")}
    part = request.files.get("_content")
    if part is None or not part.filename:
        return render_form(app, obj, mode="create", values=raw, errors={"_content": ["choose a file to upload"]},
                           top=["Choose the file to upload."], status=422)
    try:
        made = files().upload(actor(), part.stream, raw["name"].strip() or part.filename,
                              claimed_type=part.mimetype, description=raw["description"].strip() or None)
    except RecordError as exc:
        return render_form(app, obj, mode="create", values=raw, errors=exc.fields, top=[exc.message],
                           status=exc.status)
    flash(f"File “{made['name']}” was uploaded.", "success")
    return redirect(url_for("ui.record_page", app_name=app.name, object_name=obj.name, record_id=made["id"]))


# -- file fields in forms ------------------------------------------------------------------------
def take_uploads(obj, names, raw: dict, errors: dict) -> None:
    """Files chosen in a form's file fields (input `<field>__upload`) are uploaded for the field and
    their ids put in `raw`; a ticked `<field>__clear` empties it. Refusals go to `errors`."""
    for name in names:
        f = obj.fields.get(name)
        if f is None or f.type not in FILE_TYPES:
            continue
        if request.form.get(f"{name}__clear"):
            raw[name] = ""
        part = request.files.get(f"{name}__upload")
        if part is None or not part.filename:
            continue
        try:
            made = files().upload(actor(), part.stream, part.filename, claimed_type=part.mimetype,
                                  for_field=(obj.name, name))
        except RecordError as exc:
            errors[name] = [exc.message]
            continue
        g.setdefault("ui_uploads", []).append(made["id"])
        raw[name] = made["id"]


def unsaved_upload(value) -> bool:
    """Was `value` uploaded by this request's form (which is being shown again, unsaved)?"""
    return bool(value) and value in g.get("ui_uploads", ())


@ui.after_request
def _discard_unsaved_uploads(response):
    """A form that comes back with errors (4xx) saved nothing: its uploads go again."""
    uploaded = g.pop("ui_uploads", None)
    if uploaded and response.status_code >= 400:
        for file_id in uploaded:
            try:
                files().delete(SYSTEM, file_id)
            except RecordError:
                pass
    return response


def file_widget_info(value) -> dict | None:
    """The current file of a file field, for its form widget: name, type, download link."""
    if not value:
        return None
    record = files().describe(actor(), value)
    if record is None:
        return {"name": "File not visible", "url": None}
    return {"name": record.get("name"), "url": content_url(value), "size_text": human_size(record.get("size"))}


def render_file(value, name: str | None) -> Markup:
    """A file field's value on record pages and lists: its name, linked to the download."""
    if not value:
        return EMPTY
    if name is None:
        info = file_widget_info(value)
        name = info["name"] if info else None
        if info and info["url"] is None:
            return Markup('<span class="text-muted">{}</span>').format(info["name"])
    return Markup('<a href="{}" class="file-link" target="_blank" rel="noopener"><i class="far fa-file mr-1" '
                  'aria-hidden="true"></i>{}</a>').format(content_url(value), name or "Download")

