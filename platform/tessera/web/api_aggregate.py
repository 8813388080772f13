"""`GET /api/v1/records/{object}/aggregate`: grouped figures for integrations and reports, computed
by the record service in one GROUP BY under the caller's sharing and field access
(records/aggregate.py).

    ?group_by=stage,close_date:month&metrics=count,sum:amount&filter=amount > 0&sort=-sum:amount&limit=100
"""
from __future__ import annotations

from flask import g, jsonify, request

from ..records.aggregate import DEFAULT_LIMIT, MAX_GROUPS
from ..records.errors import BadQuery
from .api import _DIGITS, api, services

PARAMETERS = ("group_by", "metrics", "filter", "sort", "limit")


@api.get("/records/<object_name>/aggregate")
def aggregate(object_name):
    args = request.args
    unknown = sorted(set(args) - set(PARAMETERS))
    if unknown:
        raise BadQuery(f"unknown query parameter(s): {', '.join(unknown)} (known: {', '.join(PARAMETERS)})")
    repeated = sorted(k for k in PARAMETERS if len(args.getlist(k)) > 1)
    if repeated:
        raise BadQuery(f"query parameter(s) given more than once: {', '.join(repeated)} (use commas)")
    limit_text = args.get("limit", str(DEFAULT_LIMIT))
    if not _DIGITS.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_GROUPS:
        raise BadQuery(f"limit must be an integer from 1 to {MAX_GROUPS}")
    result = services().records.aggregate(
        g.actor, object_name, group_by=args.get("group_by", ""), metrics=args.get("metrics", ""),
        filter=args.get("filter"), sort=args.get("sort") or None, limit=int(limit_text))
    return jsonify(group_by=result.group_by, metrics=result.metrics, groups=result.groups,
                   truncated=result.truncated)
