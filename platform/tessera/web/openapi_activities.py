"""The OpenAPI description of the timeline route (web/api_activities.py), for every object that
declares `activities: true` and the caller may read."""
from __future__ import annotations

from ..activities import KINDS
from .openapi_automation import _error, _json, _ref

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def activity_schemas() -> dict:
    entry = {"type": "object", "required": ["kind", "id", "at", "title"], "properties": {
        "kind": {"enum": list(KINDS)},
        "id": {"description": "the activity's record id (a field change: the history entry's number)"},
        "at": {"type": "string", "format": "date-time"},
        "title": {"type": "string"},
        "object": {"type": "string", "description": "for calls, tasks, events and notes: their object"}},
        "description": "One entry; other keys depend on the kind (status, body, field/old_value/new_value, url…)."}
    return {"TimelineEntry": entry, "Timeline": {"type": "object", "required": ["entries", "next_cursor"], "properties": {
        "open_tasks": {"type": "array", "items": {"type": "object"},
                       "description": "open tasks, overdue first (first page only)"},
        "entries": {"type": "array", "items": _ref("TimelineEntry")},
        "next_cursor": {"type": ["string", "null"]}}}}


def activity_paths(runtime, access) -> dict:
    errors = {code: _error() for code in ("400", "401", "403", "404")}
    params = [_ID,
              {"name": "kinds", "in": "query", "description": "comma-separated kinds: " + ", ".join(KINDS),
               "schema": {"type": "string"}},
              {"name": "cursor", "in": "query", "schema": {"type": "string"}},
              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}]
    paths = {}
    for obj in sorted(runtime.metadata.objects.values(), key=lambda o: o.name):
        if not obj.activities or not access.can(obj.name, "read"):
            continue
        paths[f"/records/{obj.name}/{{id}}/timeline"] = {"get": {
            "operationId": f"{obj.name}_timeline", "tags": [obj.name],
            "summary": f"A {obj.label}'s timeline: open tasks, then calls, notes, tasks, events, emails, "
                       "field changes and files, newest first",
            "parameters": params, "responses": {"200": _json("Timeline"), **errors}}}
    return paths
