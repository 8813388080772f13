"""The OpenAPI description of `GET /records/{object}/aggregate` (web/api_aggregate.py): exactly the
parameters records/aggregate.py accepts, per object the caller may read (web/openapi.py)."""
from __future__ import annotations

from ..meta.aggregates import DATE_UNITS, DEFAULT_LIMIT, FUNCTIONS, MAX_GROUPS, MAX_KEYS, MAX_METRICS

_PATH = "[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*){0,4}"
GROUP_ITEM = f"{_PATH}(:({'|'.join(DATE_UNITS)}))?"
METRIC_ITEM = f"(count|({'|'.join(f for f in FUNCTIONS if f != 'count')}):{_PATH})"


def _list(item: str, most: int) -> str:
    """Comma-separated entries (blanks around each allowed); empty: the default."""
    one = f"\\s*{item}\\s*"
    return f"^({one}(,{one}){{0,{most - 1}}})?$"


def aggregate_schemas() -> dict:
    value = {"type": ["number", "string", "boolean", "array", "object", "null"]}
    return {"AggregateResult": {"type": "object", "required": ["group_by", "metrics", "groups", "truncated"],
                                "properties": {
        "group_by": {"type": "array", "items": {"type": "string"}},
        "metrics": {"type": "array", "items": {"type": "string"}},
        "groups": {"type": "array", "items": {"type": "object", "required": ["key", "values"], "properties": {
            "key": {"type": "object", "additionalProperties": value,
                    "description": "each group_by entry's value (null: the group of blank values); a date "
                                   "grouping's value is the ISO date its period starts on"},
            "values": {"type": "object", "additionalProperties": {"type": ["number", "string", "null"]},
                       "description": "each metric's value; sums of no values are null"}}}},
        "truncated": {"type": "boolean", "description": "more groups exist than `limit`"}}}}


def aggregate_path(name: str, label: str, errors: dict) -> dict:
    return {"get": {
        "operationId": f"aggregate_{name}", "summary": f"Grouped figures over {label}", "tags": [name],
        "description": "One GROUP BY over the records you may see, on fields you may read (a hidden or "
                       "unknown field: 400 naming it). Datetimes are bucketed by their UTC date; weeks start "
                       "on Monday; fiscal quarters and years on the org's fiscal_year_start_month.",
        "parameters": [
            {"name": "group_by", "in": "query", "schema": {"type": "string", "pattern": _list(GROUP_ITEM, MAX_KEYS)},
             "description": f"fields or lookup paths, or FIELD:{'|'.join(DATE_UNITS)} for a date field "
                            f"(at most {MAX_KEYS}); none: one group of every record"},
            {"name": "metrics", "in": "query", "schema": {"type": "string",
                                                          "pattern": _list(METRIC_ITEM, MAX_METRICS)},
             "description": "count, sum:F, avg:F (number fields), min:F, max:F (numbers and dates), "
                            f"count_distinct:F, count_not_blank:F (at most {MAX_METRICS}); none: count"},
            {"name": "filter", "in": "query", "schema": {"type": "string", "pattern": "\\S"},
             "description": "an expression, as the list API's filter"},
            {"name": "sort", "in": "query", "schema": {"type": "string", "pattern": _list(
                f"-?({GROUP_ITEM}|{METRIC_ITEM})", MAX_KEYS + MAX_METRICS)},
             "description": "group_by entries and metrics of this request, '-' for descending; blanks last"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_GROUPS,
                                                        "default": DEFAULT_LIMIT}}],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/AggregateResult"}}}}, **errors}}}
