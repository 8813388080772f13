"""The import wizard and the org data export in `/app` (the engine: tessera.dataio).

  /app/data-import                         pick an object (those the user may create)
  /app/data-import/<object>                1. upload a CSV or XLSX file
  /app/data-imports/<id>                   2. map columns (auto-matched; saved mappings), choose the
                                              operation → preview → start; then 3. progress, 4. result
  /app/data-imports/<id>/errors.csv        the per-row error report
  /app/_api/imports/<id>                   the status the progress bar polls (JSON)
  /app/data-export                         admins: the full org data export, as a job; downloads

An import belongs to the user who uploaded it: anyone else gets a 404. The file is read (and
refused, with where it went wrong) at upload; the mapping is checked against the user's field
rights at preview, at start, and again by the job. Nothing is written before the job's single
transaction commits.
"""
from __future__ import annotations

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, url_for

from ...dataio import engine, mapping as mappings, org_export, runs, sources
from ...records.errors import RecordError
from .context import access, actor, forbidden, not_found, rt, services, ui
from .meta import require_object
from .views_nav import nav_context

PREVIEW_ROWS = 10


def _limits() -> sources.Limits:
    config = current_app.config
    return sources.Limits(max_bytes=int(config.get("TESSERA_IMPORT_MAX_BYTES", sources.Limits.max_bytes)),
                          max_rows=int(config.get("TESSERA_IMPORT_MAX_ROWS", sources.Limits.max_rows)))


def _run(run_id: int, content: bool = False) -> dict:
    run = runs.get(services().engine, run_id, actor().user_id, content=content)
    if run is None:
        not_found("There is no such import (an import is seen only by the user who started it).")
    return run


@ui.get("/data-import")
def import_home():
    objects = [o for o in sorted(rt().metadata.objects.values(), key=lambda o: o.label.lower())
               if access().can(o.name, "create") and mappings.mappable_fields(rt(), access(), o.name)]
    return render_template("app/import_home.html", objects=objects,
                           can_export_org=org_export.may_export(access()), **nav_context())


@ui.route("/data-import/<object_name>", methods=["GET", "POST"])
def import_upload(object_name):
    obj = require_object(object_name, "create")
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Choose a CSV or XLSX file to upload."
        else:
            limits = _limits()
            data = upload.stream.read(limits.max_bytes + 1)
            try:
                fmt = sources.format_of(upload.filename)
                sheet = sources.read_table(data, fmt, limits)
            except sources.InputError as exc:
                error = f"{upload.filename}: {exc}"
            else:
                if not sheet.rows:
                    error = f"{upload.filename}: the file has a header row but no data rows."
                else:
                    run_id = runs.create(services().engine, actor().user_id, obj.name, upload.filename, fmt, data,
                                         sheet.headers, len(sheet), sample=sheet.rows[:3])
                    return redirect(url_for("ui.import_run", run_id=run_id), 303)
    return render_template("app/import_upload.html", obj=obj, run=None, error=error, max_bytes=_limits().max_bytes,
                           **nav_context(None, obj.name)), (400 if error else 200)


def _choices(run: dict, form) -> tuple[dict, str, str | None]:
    """The mapping, operation and match field of the mapping form (by column position)."""
    mapping = {header: (form.get(f"map-{i}") or "").strip() for i, header in enumerate(run["headers"])}
    return mapping, form.get("operation") or "insert", (form.get("match_field") or "").strip() or None


@ui.get("/data-imports/<int:run_id>")
def import_run(run_id):
    run = _run(run_id)
    obj = require_object(run["object"], "read")
    if run["status"] != "uploaded":
        return render_template("app/import_status.html", run=run, obj=obj, **nav_context(None, obj.name))
    saved = runs.saved_mappings(services().engine, actor().user_id, obj.name)
    chosen = request.args.get("mapping")
    if chosen in saved:
        mapping = {h: saved[chosen].get(h, "") for h in run["headers"]}
    else:
        mapping = run["mapping"] or mappings.auto_map(rt(), access(), obj.name, run["headers"])
    return _mapping_page(run, obj, mapping, run["operation"] or "insert", run["match_field"], saved=saved,
                         chosen=chosen)


def _mapping_page(run, obj, mapping, operation, match_field, *, saved=None, chosen=None, problems=(), preview=None,
                  status=200):
    keys = [f for f in obj.fields.values() if f.stored and (f.unique or f.external_id)
            and access().can_read_field(obj.name, f.name)]
    if saved is None:
        saved = runs.saved_mappings(services().engine, actor().user_id, obj.name)
    return render_template("app/import_map.html", run=run, obj=obj, mapping=mapping, operation=operation,
                           match_field=match_field, targets=mappings.targets(rt(), access(), obj.name),
                           match_fields=keys, saved=saved, chosen=chosen, problems=problems, preview=preview,
                           **nav_context(None, obj.name)), status


@ui.post("/data-imports/<int:run_id>/preview")
def import_preview(run_id):
    """Check the mapping, save it (and, if named, as a reusable mapping), and show the first rows
    with the errors the import would report for them."""
    run = _run(run_id, content=True)
    obj = require_object(run["object"], "create")
    if run["status"] != "uploaded":
        return redirect(url_for("ui.import_run", run_id=run_id), 303)
    mapping, operation, match_field = _choices(run, request.form)
    try:
        mappings.check(rt(), access(), obj.name, run["headers"], mapping, operation=operation, match_field=match_field)
    except mappings.MappingError as exc:
        return _mapping_page(run, obj, mapping, operation, match_field, problems=exc.problems, status=422)
    runs.save_choices(services().engine, run_id, mapping, operation, match_field)
    name = (request.form.get("save_as") or "").strip()[:80]
    if name:
        runs.save_mapping(services().engine, actor().user_id, obj.name, name, mapping)
    sheet = sources.read_table(run["content"], run["format"], _limits())
    spec = engine.Spec(obj.name, mapping, operation, match_field)
    try:
        outcome = engine.preview(services(), actor(), sheet, spec, PREVIEW_ROWS)
    except RecordError as exc:
        return _mapping_page(run, obj, mapping, operation, match_field, problems=[exc.message], status=exc.status)
    by_row = {}
    for e in outcome.errors:
        by_row.setdefault(e.row, []).append(e)
    columns = [(i, h) for i, h in enumerate(sheet.headers) if mapping.get(h)]
    rows = [{"number": n + 1, "line": sheet.lines[n], "cells": [sheet.rows[n][i] for i, _ in columns],
             "errors": by_row.get(n + 1, [])} for n in range(min(PREVIEW_ROWS, len(sheet)))]
    preview = {"columns": [h for _, h in columns], "rows": rows, "total": len(sheet),
               "failing": len(by_row)}
    return _mapping_page(run, obj, mapping, operation, match_field, preview=preview)


@ui.post("/data-imports/<int:run_id>/start")
def import_start(run_id):
    run = _run(run_id)
    obj = require_object(run["object"], "create")
    if run["status"] == "uploaded":
        if run["mapping"] is None:
            flash("Preview the import before starting it.", "warning")
            return redirect(url_for("ui.import_run", run_id=run_id), 303)
        try:
            mappings.check(rt(), access(), obj.name, run["headers"], run["mapping"], operation=run["operation"],
                           match_field=run["match_field"])
        except mappings.MappingError as exc:
            return _mapping_page(run, obj, run["mapping"], run["operation"], run["match_field"],
                                 problems=exc.problems, status=422)
        runs.queue(services().engine, run_id, version=rt().version)
    return redirect(url_for("ui.import_run", run_id=run_id), 303)


def _status(run: dict) -> dict:
    return {"id": run["id"], "status": run["status"], "total": run["total"], "progress": run["progress"],
            "created": run["created"], "updated": run["updated"], "error_count": run["error_count"],
            "message": run["message"]}


@ui.get("/_api/imports/<int:run_id>")
def import_status(run_id):
    return jsonify(_status(_run(run_id)))


@ui.get("/data-imports/<int:run_id>/errors.csv")
def import_errors(run_id):
    run = _run(run_id)
    body = runs.errors_file(services().engine, run_id, actor().user_id)
    if not body:
        not_found("This import has no error report.")
    name = f"{run['object']}-import-{run_id}-errors.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                        "Cache-Control": "no-store"})


# -- the full org data export (admins) -------------------------------------------------------------
def _require_exporter():
    if not org_export.may_export(access()):
        forbidden("The org data export is for administrators (Customize Metadata and Export Data).")


@ui.get("/data-export")
def export_home():
    _require_exporter()
    return render_template("app/data_export.html", exports=org_export.recent(services().engine, actor().user_id),
                           **nav_context())


@ui.post("/data-export")
def export_request():
    _require_exporter()
    org_export.request(services(), actor())
    flash("The export is being prepared: it can be downloaded here when it is done.", "info")
    return redirect(url_for("ui.export_home"), 303)


@ui.get("/_api/data-exports/<int:export_id>")
def export_status(export_id):
    _require_exporter()
    found = org_export.get(services().engine, export_id, actor().user_id)
    if found is None:
        not_found("There is no such export.")
    return jsonify({"id": found["id"], "status": found["status"], "size": found["size"], "message": found["message"]})


@ui.get("/data-export/<int:export_id>.zip")
def export_download(export_id):
    _require_exporter()
    body = org_export.download(services().engine, export_id, actor().user_id)
    if body is None:
        not_found("There is no such export, or it is not ready yet.")
    return Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="org-data-export-{export_id}.zip"', "Cache-Control": "no-store"})
