"""`GET /api/v1/search`: global search through the record service (records/search.py)."""
from __future__ import annotations

from flask import g, jsonify, request

from ..records.errors import BadQuery
from ..records.search import MAX_SEARCH_LIMIT
from .api import api, services

DEFAULT_LIMIT = 10


def search_arguments(args) -> tuple[str | None, list[str] | None, int]:
    """(q, objects, limit) from query parameters; 400 for a limit that is not a whole number."""
    objects = args.get("objects")
    names = [n.strip() for n in objects.split(",") if n.strip()] if objects else None
    raw = args.get("limit")
    if raw is None or raw == "":
        limit = DEFAULT_LIMIT
    elif raw.isascii() and raw.isdigit() and len(raw) <= 4:
        limit = int(raw)
    else:
        raise BadQuery(f"limit must be an integer from 1 to {MAX_SEARCH_LIMIT}", details={"parameter": "limit"})
    return args.get("q"), names or None, limit


@api.get("/search")
def search_records():
    q, objects, limit = search_arguments(request.args)
    groups = services().records.search(g.actor, q, objects=objects, limit=limit)
    return jsonify(q=q, groups=groups)
