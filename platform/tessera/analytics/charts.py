"""A report's chart as data: categories and series (or a single figure), ready for any charting
library — the browser draws it with plotly.js, served from the plotly wheel; the API returns it.

Categories are the first row grouping's groups; a second grouping (or a matrix's columns) gives one
series per value for bar, column, line and area charts. Each point keeps its group's drill-down
filter, so a click opens the matching records."""
from __future__ import annotations

from ..meta.reports import ReportDefinition

MULTI_SERIES = ("bar", "column", "line", "area")
BLANK = "(blank)"


def group_name(group: dict) -> str:
    """How a group is named on a chart axis or a table row: the linked record's name for a lookup."""
    parts = []
    for name, value in group["key"].items():
        label = (group.get("labels") or {}).get(name)
        parts.append(str(label if label is not None else (BLANK if value is None else value)))
    return " · ".join(parts) or "Total"


def chart_data(definition: ReportDefinition, result: dict) -> dict | None:
    chart = definition.chart
    if not chart:
        return None
    summaries = [s.name for s in definition.summaries]
    summary = chart.get("summary") or summaries[0]
    out = {"type": chart["type"], "title": chart.get("title") or definition.label, "summary": summary,
           "stacked": bool(chart.get("stacked")), "target": chart.get("target")}
    if chart["type"] in ("metric", "gauge") or definition.format == "tabular":
        out["value"] = (result.get("total") or {}).get(summary)
        return out
    if definition.format == "matrix":
        rows, columns = result["rows"], result["columns"]
        out["categories"] = [group_name(r) for r in rows]
        out["filters"] = [r["filter"] for r in rows]
        if chart["type"] in MULTI_SERIES:
            grid = {(c["row"], c["column"]): c for c in result["cells"]}
            out["series"] = [{"name": group_name(col),
                              "values": [(grid.get((i, j)) or {}).get("values", {}).get(summary) for i in range(len(rows))],
                              "filters": [(grid.get((i, j)) or {}).get("filter") for i in range(len(rows))]}
                             for j, col in enumerate(columns)]
        else:
            out["series"] = [{"name": summary, "values": [r["values"].get(summary) for r in rows]}]
        return out
    top = result["groups"]
    out["categories"] = [group_name(g) for g in top]
    out["filters"] = [g["filter"] for g in top]
    if chart["type"] == "scatter":
        x = next(s for s in summaries if s != summary)
        out["x_summary"] = x
        out["series"] = [{"name": summary, "x": [g["values"].get(x) for g in top],
                          "values": [g["values"].get(summary) for g in top]}]
        return out
    if chart["type"] in MULTI_SERIES and len(definition.groupings) > 1:
        names: dict[str, None] = {}
        for g in top:
            for child in g.get("groups", []):
                names.setdefault(group_name({"key": _last(child["key"]), "labels": child.get("labels")}), None)
        series = {name: ([None] * len(top), [None] * len(top)) for name in names}
        for i, g in enumerate(top):
            for child in g.get("groups", []):
                name = group_name({"key": _last(child["key"]), "labels": child.get("labels")})
                series[name][0][i] = child["values"].get(summary)
                series[name][1][i] = child["filter"]
        out["series"] = [{"name": name, "values": values, "filters": filters}
                         for name, (values, filters) in series.items()]
        return out
    out["series"] = [{"name": summary, "values": [g["values"].get(summary) for g in top]}]
    return out


def _last(key: dict) -> dict:
    name = list(key)[-1]
    return {name: key[name]}
