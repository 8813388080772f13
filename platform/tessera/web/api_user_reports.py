"""Saved reports through the API (issue 15): the same records of `user_report` the app's report
builder saves (analytics/user_reports.py), bound to the caller exactly as in the app.

    GET    /api/v1/user-reports                    the caller's reports and those shared with them
    POST   /api/v1/user-reports                    save one: {label, name?, folder?, definition,
                                                   shared_with_role?, shared_with_subordinates?, shared_with_group?}
    GET    /api/v1/user-reports/{id}               one of them (someone else's private report: 404)
    PUT    /api/v1/user-reports/{id}               change one of the caller's own
    DELETE /api/v1/user-reports/{id}               delete one of the caller's own
    GET    /api/v1/user-reports/{id}/run[?filter=&limit=]  run it as the caller (sharing a report never
                                                   shares the sharer's data)
"""
from __future__ import annotations

from flask import g, jsonify

from ..analytics import user_reports
from ..records.errors import NotFound
from .api import _json_body, api, services
from .api_reports import fiscal_start_month, run_with_query
from .setup.orgedit import api_name


def _metadata():
    return services().runtimes.current().metadata


def _public(rec: dict) -> dict:
    return {"id": rec["id"], "name": rec["name"], "label": rec["label"], "folder": rec.get("folder"),
            "object": rec["object"], "definition": rec.get("definition") or {}, "owner": rec.get("owner"),
            "mine": rec["mine"], **{k: rec.get(k) for k in user_reports.SHARING},
            "shared_with_subordinates": bool(rec.get("shared_with_subordinates"))}


def _body() -> dict:
    body = _json_body(dict)
    if not body.get("name"):       # the app's builder does the same: the name follows the label
        body["name"] = api_name(str(body.get("label") or "")) or "report"
    return body


def _saved(report_id: str) -> dict:
    rec = user_reports.get_visible(services().records, _metadata(), g.actor, report_id)
    if rec is None:
        raise NotFound("there is no such saved report")
    return rec


@api.get("/user-reports")
def list_user_reports():
    md = _metadata()
    return jsonify(user_reports=[_public(r) for r in user_reports.list_visible(services().records, md, g.actor)])


@api.post("/user-reports")
def create_user_report():
    md = _metadata()
    rec = user_reports.save(services().records, md, g.actor, _body(), fiscal_start_month=fiscal_start_month(md))
    return jsonify(_public(_saved(rec["id"]))), 201


@api.get("/user-reports/<report_id>")
def get_user_report(report_id):
    return jsonify(_public(_saved(report_id)))


@api.put("/user-reports/<report_id>")
def update_user_report(report_id):
    md = _metadata()
    user_reports.save(services().records, md, g.actor, _body(), report_id, fiscal_start_month=fiscal_start_month(md))
    return jsonify(_public(_saved(report_id)))


@api.delete("/user-reports/<report_id>")
def delete_user_report(report_id):
    user_reports.delete(services().records, _metadata(), g.actor, report_id)
    return "", 204


@api.get("/user-reports/<report_id>/run")
def run_user_report(report_id):
    md = _metadata()
    return run_with_query(md, user_reports.definition_of(md, _saved(report_id)))
