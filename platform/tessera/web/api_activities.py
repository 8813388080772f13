"""`GET /api/v1/records/{object}/{id}/timeline`: a record's open tasks and its feed of calls,
notes, tasks, events, emails, field changes and files (tessera.activities does the work)."""
from __future__ import annotations

from flask import g, jsonify, request

from ..activities import Timeline
from ..records.errors import BadQuery
from .api import api, services


def timeline_service() -> Timeline:
    svc = services()
    return Timeline(svc.records, svc.files)


@api.get("/records/<object_name>/<record_id:record_id>/timeline")
def record_timeline(object_name, record_id):
    raw = request.args.get("limit", "20")
    if not raw.isdigit() or len(raw) > 4:
        raise BadQuery("limit must be an integer from 1 to 100")
    page = timeline_service().page(g.actor, object_name, record_id, kinds=request.args.get("kinds"),
                                   cursor=request.args.get("cursor") or None, limit=int(raw))
    return jsonify(page)
