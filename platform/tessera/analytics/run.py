"""Running a report: one read through the record service (aggregate_sets for groups, subtotals and the
grand total; query for a tabular report's rows), as the viewer, so every figure is built only from
records and fields the viewer may read. Summary formulas are evaluated over each group's aggregates.

The result is plain JSON-ready data:
  tabular  {"columns": [...], "rows": [records], "total": {...}}
  summary  {"groups": [{"key", "labels", "values", "filter", "groups": [...]}], "total": {...}}
  matrix   {"rows": [...], "columns": [...], "cells": [{"row", "column", "values", "filter"}], "total": {...}}
and for each: "chart" (analytics/charts.py), "truncated", the report's groupings and summaries.
Each group carries `filter`: the expression selecting its records (drill-down to a list).
"""
from __future__ import annotations

from ..currency.columns import currency_path
from ..meta.reports import ReportDefinition
from ..security.actor import Actor
from .charts import chart_data
from .drill import bucket_label, group_filter

MAX_TABULAR_ROWS = 2000


def combined_filter(*parts: str | None) -> str | None:
    parts = [p for p in parts if p and p.strip()]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)


def run_report(records, actor: Actor, definition: ReportDefinition, *, extra_filter: str | None = None,
               limit: int | None = None, fiscal_start_month: int = 1) -> dict:
    limit = min(limit or definition.limit, MAX_TABULAR_ROWS)
    where = combined_filter(definition.filter, extra_filter)
    out = {"report": definition.name, "label": definition.label, "object": definition.object,
           "format": definition.format, "filter": where,
           "groupings": [_grouping_json(g) for g in definition.groupings],
           "column_groupings": [_grouping_json(g) for g in definition.column_groupings],
           "summaries": [{"name": s.name, "label": s.label, "format": s.format} for s in definition.summaries],
           # with several currencies, exports name the one converted amounts are in
           "corporate_currency": _corporate_if_several(records)}
    if definition.format == "tabular":
        out.update(_tabular(records, actor, definition, where, limit))
        out["chart"] = chart_data(definition, out)
        return out
    rows = [g.key for g in definition.groupings]
    cols = [g.key for g in definition.column_groupings]
    if definition.format == "summary":
        sets = [rows[:n] for n in range(len(rows), -1, -1)]          # finest first, the grand total last
    else:
        sets = [rows + cols, rows, cols, []]
    sort = [s for s in definition.sort if s.removeprefix("-") not in _formula_names(definition)] or None
    results = records.aggregate_sets(actor, definition.object, grouping_sets=sets, metrics=definition.metrics,
                                     filter=where, sort=sort, limit=limit, labels=True)
    groupings = {g.key: g for g in (*definition.groupings, *definition.column_groupings)}
    for result in results:
        for group in result.groups:
            for name, value in group["key"].items():
                if groupings[name].unit is not None:      # a date bucket reads "Q4 2026", not its first day
                    group.setdefault("labels", {})[name] = bucket_label(value, groupings[name].unit,
                                                                        fiscal_start_month)
            group["values"] = _summary_values(definition, group["values"])
            group["filter"] = combined_filter(where, group_filter(group["key"], groupings, fiscal_start_month))
    out["truncated"] = results[0].truncated
    out["total"] = results[-1].groups[0]["values"] if results[-1].groups else _summary_values(definition, {})
    if definition.format == "summary":
        out["groups"] = _nest(results[:-1][::-1], rows)
    else:
        out["rows"] = _headers(results[1].groups, rows)
        out["columns"] = _headers(results[2].groups, cols)
        row_index = {_key(g["key"], rows): i for i, g in enumerate(out["rows"])}
        col_index = {_key(g["key"], cols): i for i, g in enumerate(out["columns"])}
        out["cells"] = [{"row": row_index.get(_key(g["key"], rows)), "column": col_index.get(_key(g["key"], cols)),
                         "values": g["values"], "filter": g["filter"]}
                        for g in results[0].groups]
    out["chart"] = chart_data(definition, out)
    return out


def _corporate_if_several(records) -> str | None:
    settings = records.runtime().metadata.org_settings
    return settings.corporate_currency if len(settings.codes) > 1 else None


def _grouping_json(g) -> dict:
    return {"key": g.key, "label": g.label, "type": g.field_type, "unit": g.unit}


def _formula_names(definition) -> set[str]:
    return {s.name for s in definition.summaries if s.formula is not None}


def _summary_values(definition: ReportDefinition, metrics: dict) -> dict:
    """The report's summaries from the aggregates: metrics as computed, formulas evaluated (a
    division by zero is blank); aggregates only a formula needed are not shown."""
    values = {}
    for s in definition.summaries:
        if s.formula is not None:
            value = s.formula.evaluate(metrics)
            values[s.name] = float(value) if value is not None else None
        else:
            values[s.name] = metrics.get(s.metric, 0 if s.metric == "count" else None)
    return values


def _key(key: dict, names: list[str]) -> tuple:
    return tuple(key.get(n) for n in names)


def _headers(groups: list[dict], names: list[str]) -> list[dict]:
    return [{"key": g["key"], "labels": g.get("labels", {}), "values": g["values"], "filter": g["filter"]}
            for g in groups]


def _nest(levels: list, names: list[str]) -> list[dict]:
    """Level 1 groups, each holding its level-2 groups, … (the finest level has no `groups`)."""
    parents: dict[tuple, dict] = {}
    top: list[dict] = []
    for depth, result in enumerate(levels, start=1):
        current: dict[tuple, dict] = {}
        for g in result.groups:
            node = {"key": g["key"], "labels": g.get("labels", {}), "values": g["values"], "filter": g["filter"]}
            if depth < len(names):
                node["groups"] = []
            key = _key(g["key"], names[:depth])
            current[key] = node
            if depth == 1:
                top.append(node)
            else:
                parent = parents.get(key[:-1])
                if parent is not None:        # a parent beyond the limit: its children are dropped too
                    parent["groups"].append(node)
        parents = current
    return top


def _currency_paths(records, actor, definition: ReportDefinition) -> dict[str, str]:
    """{amount column: the path of its record's currency code} for the amounts of multi-currency
    objects whose currency the viewer may read (exports write the code beside them)."""
    rt = records.runtime()
    md, access = rt.metadata, rt.security.access_for(actor)
    obj = md.objects[definition.object]
    found = {}
    for column in definition.columns:
        code = currency_path(md, obj, column)
        if code is not None and access.readable_path(obj.name, tuple(code.split("."))):
            found[column] = code
    return found


def _tabular(records, actor, definition: ReportDefinition, where, limit) -> dict:
    codes = _currency_paths(records, actor, definition)
    fields = list(dict.fromkeys([*definition.columns, *codes.values()]))
    result = records.query(actor, definition.object, fields=fields, filter=where,
                           sort=[s for s in definition.sort] or None, limit=min(limit, 1000))
    rows = result.records
    cursor = result.next_cursor
    while cursor and len(rows) < limit:       # the query API pages by 1,000 at most
        page = records.query(actor, definition.object, fields=fields, filter=where,
                             sort=[s for s in definition.sort] or None, limit=min(limit - len(rows), 1000),
                             cursor=cursor)
        rows += page.records
        cursor = page.next_cursor
    total = {}
    if definition.metrics:
        total_result = records.aggregate_sets(actor, definition.object, grouping_sets=[[]],
                                              metrics=definition.metrics, filter=where)[0]
        total = _summary_values(definition, total_result.groups[0]["values"] if total_result.groups else {})
    return {"columns": [{"name": c, "label": label, **({"currency": codes[c]} if c in codes else {})}
                        for c, label in zip(definition.columns, definition.column_labels)],
            "rows": rows, "total": total,
            "truncated": cursor is not None}
