"""Figures of a list view (issue 15): column aggregates in the list's footer and totals per kanban
lane, computed by the record service's aggregate as the signed-in user.

Column aggregates (as Twenty's views): each visible column may show one figure over the WHOLE
current filter — the same filter string the list's query gets (view filter, search, quick
filters), so the figures see exactly the list's rows under the same sharing and field access. All
chosen figures come from ONE aggregate call per page. The choice lives in the URL state
(`agg=sum:amount,count_not_blank:name`, aggregate metric syntax) and in a saved view, next to
sort and columns. Only visible columns are offered, and a column exists only for a readable path
(meta.column), so a hidden field is never offered.

Kanban lanes: one aggregate grouped by the lane field, summing a chosen field (`total=<field>`,
`total=none` for no sum; default: the object's first readable currency field).
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType

from markupsafe import Markup

from ...meta.model import FieldDef
from ...records.errors import BadQuery
from .context import actor, records
from .display import render_value
from .meta import Column, display_def

SUMMABLE = frozenset(("number", "currency", "percent", "integer", "duration"))
DATES = frozenset(("date", "datetime"))
NO_DISTINCT = frozenset(("json", "geolocation", "multi_picklist", "rich_text", "image"))   # no useful equality
LANE_SUMMABLE = SUMMABLE - {"percent"}     # a sum of percentages means nothing
MAX_CHOSEN = 30
LABELS = {"count_not_blank": "Count", "count_distinct": "Unique", "sum": "Sum", "avg": "Average",
          "min": "Min", "max": "Max"}
DATE_LABELS = {"min": "Earliest", "max": "Latest"}
_INTEGER = FieldDef("count", "integer", "Count")


def functions_for(c: Column) -> list[str]:
    """The figures a column offers, in menu order."""
    if c.field.encrypted:   # its ciphertext has no sums or unique values (records/aggregate.py refuses them)
        return []
    t = c.field.type
    out = ["count_not_blank"] + ([] if t in NO_DISTINCT else ["count_distinct"])
    if t in SUMMABLE:
        out += ["sum", "avg", "min", "max"]
    elif t in DATES:
        out += ["min", "max"]
    return out


def function_label(c: Column, function: str) -> str:
    return DATE_LABELS.get(function, LABELS[function]) if c.field.type in DATES else LABELS[function]


def parse_choice(text: str) -> list[str]:
    """`agg` of the URL or a saved view: `function:path` entries (checked against the columns later)."""
    return [item.strip() for item in (text or "").split(",") if item.strip()][:MAX_CHOSEN]


def chosen(cols: list[Column], wanted: list[str]) -> dict[str, str]:
    """column path -> function, for the entries that name a visible column and a figure it offers
    (the first entry per column wins; anything else is dropped, as an unknown sort is)."""
    by_path = {c.path: c for c in cols}
    out = {}
    for item in wanted:
        function, _, path = item.partition(":")
        c = by_path.get(path)
        if c is not None and path not in out and function in functions_for(c):
            out[path] = function
    return out


def _shown_as(c: Column, function: str) -> FieldDef:
    """The field whose type formats a figure: counts are integers, an average of integers has decimals."""
    if function in ("count_not_blank", "count_distinct"):
        return _INTEGER
    if function == "avg" and c.field.type == "integer":
        return dataclasses.replace(c.field, type="number", options=MappingProxyType({"scale": 2}))
    return c.field


def figure_html(c: Column, function: str, value, app_name: str) -> Markup:
    if function == "avg" and c.field.type == "duration" and value is not None:
        value = round(value)          # durations are whole seconds
    # currency=None: the corporate currency, which the aggregate converts multi-currency amounts to
    return render_value(_shown_as(c, function), value, app_name=app_name)


def column_figures(object_name: str, cols: list[Column], wanted: list[str], filter_expr: str | None,
                   app_name: str, *, search: str | None = None) -> tuple[dict, str | None]:
    """({path: {"function", "label", "html"}}, error) for the chosen figures of the visible columns,
    from one aggregate call over `filter_expr`."""
    picks = chosen(cols, wanted)
    if not picks:
        return {}, None
    try:
        result = records().aggregate(actor(), object_name, metrics=[f"{f}:{p}" for p, f in picks.items()],
                                     filter=filter_expr, search=search)
    except BadQuery as exc:
        return {}, exc.message
    values = result.groups[0]["values"] if result.groups else {}
    by_path = {c.path: c for c in cols}
    return {path: {"function": function, "label": function_label(by_path[path], function),
                   "html": figure_html(by_path[path], function, values.get(f"{function}:{path}"), app_name)}
            for path, function in picks.items()}, None


def choice_text(picks: dict[str, str]) -> str:
    return ",".join(f"{function}:{path}" for path, function in picks.items())


# -- kanban lane totals --------------------------------------------------------------------------
def lane_sum_fields(obj, readable) -> list[FieldDef]:
    """Fields a lane total may sum: readable numeric and currency fields (formulas and roll-ups by
    the type they show)."""
    return [f for f in obj.fields.values()
            if display_def(f).type in LANE_SUMMABLE and readable(obj.name, f.name)]


def lane_sum_field(obj, readable, wanted: str | None) -> FieldDef | None:
    """The field summed per lane: `wanted` when offered ("none": no sum), else the first currency field."""
    offered = lane_sum_fields(obj, readable)
    if wanted == "none":
        return None
    found = next((f for f in offered if f.name == wanted), None)
    if found is not None:
        return found
    return next((f for f in offered if display_def(f).type == "currency"), None)


def lane_sums(object_name: str, group_field: str, sum_field: FieldDef | None, filter_expr: str | None,
              app_name: str, *, search: str | None = None) -> tuple[dict, str | None]:
    """({lane value ('' for blank): sum html}, error): one aggregate grouped by the lane field."""
    if sum_field is None:
        return {}, None
    metric = f"sum:{sum_field.name}"
    try:
        result = records().aggregate(actor(), object_name, group_by=[group_field], metrics=[metric],
                                     filter=filter_expr, search=search)
    except BadQuery as exc:
        return {}, exc.message
    shown = display_def(sum_field)
    return {("" if g["key"][group_field] is None else str(g["key"][group_field])):
            render_value(shown, g["values"][metric], app_name=app_name) for g in result.groups}, None
