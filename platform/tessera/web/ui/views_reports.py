"""Reports and dashboards in `/app` (issue 15): the report list, a report's run page (chart, groups
with subtotals, drill-down into the matching records, CSV / XLSX export) and the app home's
dashboard. Every figure comes from analytics/run.py through the record service as the signed-in
user. Charts are drawn by plotly.js, served from the plotly wheel (never a CDN).
"""
from __future__ import annotations

from pathlib import Path

from flask import Response, abort, render_template, request, send_file, url_for
from markupsafe import Markup

from ...analytics import user_reports
from ...analytics.dashboards import run_dashboard
from ...analytics.snapshots import DashboardSnapshots
from ...analytics.definitions import stored_definition
from ...analytics.run import run_report
from ...analytics.table import report_table
from ...records.errors import RecordError
from .context import access, actor, records, rt, services, ui
from .display import EMPTY, _money, format_date, format_datetime, format_number
from .meta import readable_tabs, require_app
from .views_nav import nav_context


def _fiscal_start() -> int:
    return getattr(rt().metadata.org_settings, "fiscal_year_start_month", 1) or 1


def figure(value, fmt: str | None, currency: str | None = None) -> Markup:
    """A report figure as users read it: 1,234 · $1,234.50 · 42.5% · Mar 4, 2026. `currency`: the
    record's own currency of an amount (tabular rows); figures are otherwise corporate."""
    if value is None:
        return EMPTY
    if fmt == "integer":
        return Markup.escape(format_number(value, 0))
    if fmt == "currency":
        sign, symbol, digits = _money(value, 2, currency)
        return Markup.escape(f"{sign}{symbol}{digits}")
    if fmt == "percent":
        return Markup.escape(format_number(float(value) * 100, 1, trim=True) + "%")
    if fmt == "percent_value":
        return Markup.escape(format_number(value, 1, trim=True) + "%")
    if fmt == "date":
        return Markup.escape(format_date(value))
    if isinstance(value, (int, float)):
        return Markup.escape(format_number(value, 2, trim=True))
    return Markup.escape(str(value))


def drill_url(app_name: str, object_name: str, expression: str | None) -> str | None:
    """The object's list showing exactly a group's records (the list's `where` expression)."""
    if not expression:
        return None
    return url_for("ui.list_view", app_name=app_name, object_name=object_name, where=expression)


def _reports_for(app) -> list:
    """The org's reports on the objects of this app the user may read, by folder."""
    tabs = {o.name for o in readable_tabs(app)}
    found = [c for c in rt().metadata.reports.values() if c["object"] in tabs and access().can(c["object"], "read")]
    return sorted(found, key=lambda c: ((c.get("folder") or "~"), (c.get("label") or c.name).lower()))


@ui.get("/<app_name>/reports")
def reports_list(app_name):
    """Org reports, then the user's own and those shared with them (analytics/user_reports.py),
    each filed in its folder."""
    app = require_app(app_name)
    folders: dict[str, list] = {}
    for comp in _reports_for(app):
        folders.setdefault(comp.get("folder") or "Unfiled", []).append(
            {"label": comp.get("label") or comp.name, "description": comp.get("description"),
             "format": comp.get("format", "tabular"), "kind": "org",
             "url": url_for("ui.report_page", app_name=app.name, name=comp.name)})
    readable = [o.name for o in readable_tabs(app)]
    for rec in user_reports.list_visible(records(), rt().metadata, actor(), readable):
        folders.setdefault(rec.get("folder") or ("My reports" if rec["mine"] else "Shared with me"), []).append(
            {"label": rec["label"], "description": None, "format": (rec.get("definition") or {}).get("format", "tabular"),
             "kind": "mine" if rec["mine"] else "shared", "id": rec["id"],
             "url": url_for("ui.user_report_page", app_name=app.name, report_id=rec["id"])})
    return render_template("app/reports.html", app=app, folders=folders, **nav_context(app, "_reports"))


def readable_report(name: str):
    """The org's report `name` when the user may read its object; else 404 (as if it did not exist)."""
    definition = stored_definition(rt().metadata, name)
    if definition is None or not access().can(definition.object, "read"):
        abort(404)
    return definition


@ui.get("/<app_name>/reports/<name>")
def report_page(app_name, name):
    app = require_app(app_name)
    definition = readable_report(name)
    error, result = None, None
    try:
        result = run_report(records(), actor(), definition, fiscal_start_month=_fiscal_start())
    except RecordError as exc:
        error = str(exc)
    obj = rt().metadata.objects[definition.object]
    return render_template("app/report.html", app=app, definition=definition, result=result, error=error, obj=obj,
                           figure=figure, drill_url=drill_url, chart_payload=_chart_payload,
                           can_export=access().system("export_data"), **nav_context(app, "_reports"))


@ui.get("/<app_name>/reports/<name>/export.<fmt>")
def report_export(app_name, name, fmt):
    require_app(app_name)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    if not access().system("export_data"):
        abort(403)
    definition = readable_report(name)
    from ...analytics.tabular_export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_chunks, xlsx_bytes
    result = run_report(records(), actor(), definition, fiscal_start_month=_fiscal_start())
    columns, rows = report_table(result)
    filename = f"{definition.name}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response("".join(csv_chunks(columns, rows)), mimetype=CSV_MEDIA_TYPE, headers=disposition)
    return Response(xlsx_bytes(columns, rows, definition.label), mimetype=XLSX_MEDIA_TYPE, headers=disposition)


def _chart_payload(app_name: str, object_name: str, chart: dict | None, summary_format: str | None) -> dict | None:
    """The chart as charts.js draws it, each point with its drill-down link."""
    if not chart:
        return None
    payload = dict(chart, format=summary_format)
    payload["links"] = [drill_url(app_name, object_name, f) for f in chart.get("filters") or []]
    payload["series"] = [dict(s, links=[drill_url(app_name, object_name, f) for f in s.get("filters") or []])
                         for s in chart.get("series") or []]
    return payload


def dashboard_for(app) -> dict | None:
    """The app's dashboard (its `dashboard`), run for the signed-in user; None when it has none."""
    name = app.get("dashboard")
    if not name or name not in rt().metadata.dashboards:
        return None
    try:
        data = run_dashboard(records(), services().identity, rt().metadata, actor(), name,
                             {k[2:]: v for k, v in request.args.items() if k.startswith("d.")},
                             fiscal_start_month=_fiscal_start(), refresh=request.args.get("refresh") == "1",
                             snapshots=DashboardSnapshots(services().engine))
    except RecordError as exc:
        return {"error": str(exc)}
    if data["cache_minutes"]:       # figures kept as of a time: say when, and offer to recompute them
        data["as_of_text"] = format_datetime(data["as_of"])
        data["refresh_url"] = url_for(request.endpoint, **request.view_args,
                                      **{k: v for k, v in request.args.items() if k != "refresh"}, refresh="1")
    app_obj_names = {o.name for o in readable_tabs(app)}
    for f in data["filters"]:
        f["options"] = _filter_options(f["field"], app_obj_names)
    for component in data["components"]:
        definition = stored_definition(rt().metadata, component["report"])
        summary = definition.summary(component["summary"])
        component["format"] = summary.format if summary else None
        component["chart_payload"] = _chart_payload(app.name, definition.object, component["result"].get("chart"),
                                                    component["format"])
        component["object"] = definition.object
    return data


def _filter_options(path: str, objects: set[str]) -> list[tuple[str, str]] | None:
    """A dashboard filter on a lookup (owner, account) offers the records the user may see by name
    (the first 200); other filters are typed. The field is looked up on the app's first object
    that has it."""
    md = rt().metadata
    for name in sorted(objects):
        steps = md.resolve_path(md.objects[name], tuple(path.split(".")))
        if not steps:
            continue
        owner, fname = steps[-1]
        f = owner.fields.get(fname)
        target = f.target if f is not None else ("user" if fname in ("owner", "created_by", "updated_by") else None)
        tobj = md.objects.get(target) if target else None
        if tobj is None or not tobj.name_field or not access().can(tobj.name, "read"):
            return None
        try:
            found = records().query(actor(), tobj.name, fields=[tobj.name_field], sort=[tobj.name_field], limit=200)
        except RecordError:
            return None
        return [(r["id"], str(r.get(tobj.name_field) or r["id"])) for r in found.records]
    return None


@ui.get("/_vendor/plotly.min.js")
def plotly_js():
    """plotly.js from the installed plotly wheel: served by us, cached a day."""
    import plotly
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return send_file(path, mimetype="text/javascript", max_age=86400)
