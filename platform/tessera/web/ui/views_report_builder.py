"""The report builder in `/app` (issue 15 §3): end users build, preview and save their own reports
(records of `user_report`, analytics/user_reports.py), share them read-only with a role or a group,
and admins promote one to org metadata through the change pipeline.

Pages:
  GET  /app/<app>/reports/new                  an empty builder (?object= preselects the object)
  GET  /app/<app>/reports/my/<id>              a saved report's run page (report.html), as the viewer
  GET  /app/<app>/reports/my/<id>/edit         the builder on a saved report (someone else's: a copy)
  GET  /app/<app>/reports/<name>/edit          the builder on a copy of an org report
JSON (session + X-CSRFToken):
  POST   /app/_api/reports/preview             {definition} → the result, rendered like report.html
  POST   /app/_api/user-reports                {label, folder, definition, shared_with_*} → 201 {id, url}
  PUT    /app/_api/user-reports/<id>           change one of my reports
  DELETE /app/_api/user-reports/<id>           delete one of my reports
  POST   /app/_api/user-reports/<id>/promote   customize_metadata: becomes reports/<name>.yaml (org layer)

The builder only offers what the user can read; the server checks everything again (the
definition's schema and semantics, then a run as the user), so a hand-made request gains nothing.
"""
from __future__ import annotations

from types import SimpleNamespace

from flask import abort, get_template_attribute, jsonify, render_template, request, url_for

from ...analytics import user_reports
from ...analytics.definitions import adhoc_definition
from ...analytics.run import run_report
from ...meta.aggregates import DATE_UNITS
from ...meta.reports import CHART_TYPES
from ...changes.pipeline import ChangeFailed
from ...changes.service import ChangeRefused
from ...meta.errors import MetadataInvalid
from ...records.errors import BadQuery, Conflict, Forbidden, RecordError, ValidationFailed
from ...security.actor import SYSTEM
from ..setup.orgedit import OrgEditor, api_name, name_problem
from .context import access, actor, records, rt, services, ui
from .meta import readable_tabs, require_app
from .field_catalogue import object_fields
from .views_nav import nav_context
from .views_reports import _chart_payload, _fiscal_start, drill_url, figure, readable_report

# -- what the builder offers ------------------------------------------------------------------------

def field_catalogue(app) -> dict:
    """Per readable object of the app: its readable fields with what each may be used for."""
    return {obj.name: {"label": obj.plural_label, "fields": object_fields(obj)} for obj in readable_tabs(app)}


def _groups() -> list[str]:
    if "group" not in rt().metadata.objects:
        return []
    return [g["name"] for g in records().query(SYSTEM, "group", sort=["name"], limit=200, fields=["name"]).records]


def _builder(app, initial: dict, *, report_id: str | None = None, mine: bool = False):
    config = {"objects": field_catalogue(app), "initial": initial, "report_id": report_id if mine else None,
              "chart_types": list(CHART_TYPES), "date_units": list(DATE_UNITS),
              "roles": sorted(rt().metadata.roles), "groups": _groups(),
              "urls": {"preview": url_for("ui.report_preview"), "save": url_for("ui.user_report_create"),
                       "item": url_for("ui.user_report_item", report_id="ID"),
                       "list": url_for("ui.reports_list", app_name=app.name),
                       "run": url_for("ui.user_report_page", app_name=app.name, report_id="ID")}}
    if not config["objects"]:
        abort(403, description="You cannot read any object of this app.")
    return render_template("app/report_builder.html", app=app, config=config, mine=mine,
                           **nav_context(app, "_reports"))


@ui.get("/<app_name>/reports/new")
def report_new(app_name):
    app = require_app(app_name)
    obj = request.args.get("object")
    return _builder(app, {"object": obj} if obj else {})


@ui.get("/<app_name>/reports/<name>/edit")
def report_copy(app_name, name):
    app = require_app(app_name)
    definition = readable_report(name)
    doc = {k: v for k, v in definition.doc.items() if k not in ("name", "folder")}
    doc["label"] = f"Copy of {definition.label}"
    return _builder(app, doc)


def _saved_or_404(report_id: str) -> dict:
    rec = user_reports.get_visible(records(), rt().metadata, actor(), report_id)
    if rec is None or not access().can(rec["object"], "read"):
        abort(404)
    return rec


@ui.get("/<app_name>/reports/my/<report_id>/edit")
def user_report_edit(app_name, report_id):
    app = require_app(app_name)
    rec = _saved_or_404(report_id)
    doc = dict(rec.get("definition") or {}, object=rec["object"], label=rec["label"])
    if rec["mine"]:
        doc.update(folder=rec.get("folder") or "", shared_with_role=rec.get("shared_with_role") or "",
                   shared_with_subordinates=bool(rec.get("shared_with_subordinates")),
                   shared_with_group=rec.get("shared_with_group") or "")
    else:
        doc["label"] = f"Copy of {rec['label']}"
    return _builder(app, doc, report_id=report_id, mine=rec["mine"])


@ui.get("/<app_name>/reports/my/<report_id>")
def user_report_page(app_name, report_id):
    app = require_app(app_name)
    rec = _saved_or_404(report_id)
    error, result, definition = None, None, None
    try:
        definition = user_reports.definition_of(rt().metadata, rec)
        result = run_report(records(), actor(), definition, fiscal_start_month=_fiscal_start())
    except RecordError as exc:
        error = str(exc)
    obj = rt().metadata.objects[rec["object"]]
    return render_template("app/report.html", app=app, definition=definition or _stub(rec), result=result,
                           error=error, obj=obj, figure=figure, drill_url=drill_url, chart_payload=_chart_payload,
                           can_export=False, saved=rec,
                           can_promote=access().system("customize_metadata"), **nav_context(app, "_reports"))


def _stub(rec: dict):
    """Enough of a definition for the page's header when the saved one no longer compiles."""
    return SimpleNamespace(name=rec["name"], label=rec["label"], folder=rec.get("folder"), description=None)


# -- JSON -------------------------------------------------------------------------------------------
def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadQuery("the request body must be a JSON object")
    return body


@ui.post("/_api/reports/preview")
def report_preview():
    body = _body()
    md = rt().metadata
    definition = adhoc_definition(md, body.get("definition"))
    if not access().can(definition.object, "read"):
        raise Forbidden(f"you cannot read {definition.object}")
    result = run_report(records(), actor(), definition, fiscal_start_month=_fiscal_start())
    app_name = str(body.get("app") or "")
    if app_name not in md.apps:
        app_name = next(iter(sorted(md.apps)), "home")
    obj = md.objects[definition.object]
    app = md.apps.get(app_name) or {"name": app_name}
    table = get_template_attribute("app/_report_figures.html", "result_table")
    chart_box = get_template_attribute("app/_report_figures.html", "chart_box")
    charted = definition.summary(result["chart"]["summary"]) if result.get("chart") else None
    payload = _chart_payload(app_name, obj.name, result.get("chart"), charted.format if charted else None)
    return jsonify(result=result, table=str(table(app, obj, result, figure, drill_url)),
                   chart=str(chart_box(payload)) if payload else "")


def _save_body() -> dict:
    body = _body()
    if not body.get("name"):
        body["name"] = api_name(str(body.get("label") or "")) or "report"
    return body


@ui.post("/_api/user-reports")
def user_report_create():
    rec = user_reports.save(records(), rt().metadata, actor(), _save_body(), fiscal_start_month=_fiscal_start())
    return jsonify(id=rec["id"], name=rec["name"]), 201


@ui.route("/_api/user-reports/<report_id>", methods=["PUT", "DELETE"])
def user_report_item(report_id):
    if request.method == "DELETE":
        user_reports.delete(records(), rt().metadata, actor(), report_id)
        return "", 204
    rec = user_reports.save(records(), rt().metadata, actor(), _save_body(), report_id,
                            fiscal_start_month=_fiscal_start())
    return jsonify(id=rec["id"], name=rec["name"])


@ui.post("/_api/user-reports/<report_id>/promote")
def user_report_promote(report_id):
    """An admin makes a saved report an org report: reports/<name>.yaml in the org layer, applied
    by the change pipeline (validated, versioned, reversible by rollback)."""
    if not access().system("customize_metadata"):
        raise Forbidden("promoting a report to the org needs the customize_metadata permission")
    md = rt().metadata
    rec = user_reports.get_visible(records(), md, actor(), report_id)
    if rec is None:
        raise BadQuery("there is no such saved report")
    name = str((request.get_json(silent=True) or {}).get("name") or rec["name"])
    editor = OrgEditor(services().changes.active().snapshot)
    problem = name_problem(name, taken=set(md.reports), what="report name")
    if problem:
        raise BadQuery(f"name: {problem}")
    editor.put("reports", name, user_reports.report_document(md, rec, name))
    try:
        result = services().changes.apply_org(editor.org, author=actor().username, source="ui", actor=actor(),
                                              message=f"promote saved report '{rec['label']}' to reports/{name}.yaml")
    except MetadataInvalid as exc:
        raise ValidationFailed("; ".join(str(e) for e in exc.errors)) from exc
    except (ChangeRefused, ChangeFailed) as exc:
        raise Conflict(f"the change was refused: {exc}") from exc
    return jsonify(name=name, version=result.version.number if result.version else None), 201
