"""The OpenAPI description of global search (web/api_search.py)."""
from __future__ import annotations

from ..records.search import MAX_SEARCH_LIMIT
from ..search.tokens import MAX_QUERY, MIN_QUERY
from .openapi_automation import _error, _json


def search_schemas() -> dict:
    hit = {"type": "object", "required": ["id", "object", "name", "matched", "rank"], "properties": {
        "id": {"type": "string", "format": "uuid"},
        "object": {"type": "string"},
        "name": {"type": "string", "description": "the record's name (its id when the name is hidden from you)"},
        "matched": {"type": "array", "items": {"type": "string"},
                    "description": "the fields (readable by you) in which a word of q was found"},
        "values": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "the matched fields' values, as text"},
        "rank": {"type": "number", "description": "higher is better (comparable within one response)"}}}
    group = {"type": "object", "required": ["object", "label", "hits", "more"], "properties": {
        "object": {"type": "string"}, "label": {"type": "string"},
        "hits": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}},
        "more": {"type": "boolean", "description": "more hits than limit"}}}
    result = {"type": "object", "required": ["q", "groups"], "properties": {
        "q": {"type": "string"},
        "groups": {"type": "array", "items": {"$ref": "#/components/schemas/SearchGroup"}}}}
    return {"SearchHit": hit, "SearchGroup": group, "SearchResult": result}


def search_paths() -> dict:
    return {"/search": {"get": {
        "operationId": "search", "summary": "Search every searchable field of the objects you may read",
        "description": "Words of q match words of the fields marked searchable (and every name field) by "
                       "prefix, all words required; results are ranked and grouped by object, only records "
                       "and fields you may read. Punctuation and operators in q only separate words.",
        "tags": ["search"],
        "parameters": [
            {"name": "q", "in": "query", "required": True,
             "schema": {"type": "string", "minLength": MIN_QUERY, "maxLength": MAX_QUERY}},
            {"name": "objects", "in": "query", "description": "comma-separated object names (default: all)",
             "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "description": "hits per object",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_LIMIT, "default": 10}}],
        "responses": {"200": _json("SearchResult"), "400": _error(), "401": _error()}}}}
