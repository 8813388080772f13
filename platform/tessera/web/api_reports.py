"""Reports (issue 15): figures computed in SQL by the record service as the caller.

    GET  /api/v1/reports                       the org's reports the caller may run (their object is readable)
    GET  /api/v1/dashboards                    the org's dashboards
    GET  /api/v1/dashboards/{name}[?FILTER=value…][&refresh=true]  every component's figures, as the
                                               viewer or the dashboard's run-as user; FILTER: the dashboard's
                                               filters; `as_of` says when they were computed (a dashboard
                                               with cache_minutes keeps them that long; refresh recomputes)
    GET  /api/v1/reports/{name}[?filter=&limit=]  run a report; `filter` narrows it further (ANDed)
    POST /api/v1/reports/run                   run an ad-hoc definition (the report schema, without name)

Bad definitions answer 400 naming each problem; a report on an object the caller cannot read 403;
a field the caller cannot read, in columns, groupings, summaries or filters, 400 naming it.
"""
from __future__ import annotations

from flask import g, jsonify, request

from ..analytics.dashboards import run_dashboard
from ..analytics.definitions import adhoc_definition, stored_definition
from ..analytics.run import MAX_TABULAR_ROWS, run_report
from ..analytics.snapshots import DashboardSnapshots
from ..meta.reports import RESERVED_DASHBOARD_PARAMETER
from ..records.errors import BadQuery, NotFound
from .api import _DIGITS, _json_body, api, services

RUN_PARAMETERS = ("filter", "limit")


def _metadata():
    return services().runtimes.current().metadata


def fiscal_start_month(md) -> int:
    return getattr(md.org_settings, "fiscal_year_start_month", 1) or 1


def _limit(text: str | None) -> int | None:
    if text is None:
        return None
    if not _DIGITS.fullmatch(text) or int(text) < 1:
        raise BadQuery("limit must be a positive integer")
    return min(int(text), MAX_TABULAR_ROWS)      # a huge limit is capped, as the report's own is


@api.get("/reports")
def list_reports():
    md = _metadata()
    access = services().runtimes.current().security.access_for(g.actor)
    out = [{"name": c.name, "label": c.get("label") or c.name.replace("_", " ").capitalize(),
            "object": c["object"], "format": c.get("format", "tabular"), "folder": c.get("folder"),
            "description": c.get("description"), "package": c.package}
           for c in sorted(md.reports.values(), key=lambda c: ((c.get("folder") or ""), c.name))
           if access.can(c["object"], "read")]
    return jsonify(reports=out)


def run_with_query(md, definition):
    """The report run as the caller, narrowed by the request's `filter` and `limit`."""
    unknown = sorted(set(request.args) - set(RUN_PARAMETERS))
    if unknown:
        raise BadQuery(f"unknown query parameter(s): {', '.join(unknown)} (known: {', '.join(RUN_PARAMETERS)})")
    return jsonify(run_report(services().records, g.actor, definition, extra_filter=request.args.get("filter"),
                              limit=_limit(request.args.get("limit")), fiscal_start_month=fiscal_start_month(md)))


@api.get("/reports/<name>")
def run_stored_report(name):
    md = _metadata()
    definition = stored_definition(md, name)
    if definition is None:
        raise NotFound(f"there is no report '{name}'")
    return run_with_query(md, definition)


@api.post("/reports/run")
def run_adhoc_report():
    md = _metadata()
    definition = adhoc_definition(md, _json_body(dict))
    return jsonify(run_report(services().records, g.actor, definition, fiscal_start_month=fiscal_start_month(md)))


@api.get("/dashboards")
def list_dashboards():
    md = _metadata()
    return jsonify(dashboards=[{"name": c.name, "label": c.get("label") or c.name.replace("_", " ").capitalize(),
                                "description": c.get("description"), "package": c.package,
                                "filters": [f["name"] for f in c.get("filters") or ()]}
                               for c in sorted(md.dashboards.values(), key=lambda c: c.name)])


@api.get("/dashboards/<name>")
def get_dashboard(name):
    md = _metadata()
    repeated = sorted(k for k in request.args if len(request.args.getlist(k)) > 1)
    if repeated:
        raise BadQuery(f"query parameter(s) given more than once: {', '.join(repeated)}")
    filters = dict(request.args)
    refresh = filters.pop(RESERVED_DASHBOARD_PARAMETER, "false").lower()
    if refresh not in ("true", "false"):
        raise BadQuery(f"{RESERVED_DASHBOARD_PARAMETER}: true or false")
    return jsonify(run_dashboard(services().records, services().identity, md, g.actor, name, filters,
                                 fiscal_start_month=fiscal_start_month(md), refresh=refresh == "true",
                                 snapshots=DashboardSnapshots(services().engine)))
