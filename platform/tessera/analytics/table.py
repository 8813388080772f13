"""A report result as one flat table (headers, rows) for CSV and XLSX export: a tabular report's
records; a summary report's groups at every level, each subtotal after its groups and the grand
total last; a matrix report's cells with their row and column keys, then the totals."""
from __future__ import annotations

from ..currency.columns import code_header
from .charts import group_name
from .tabular_export import TabularColumn

TOTAL = "Grand total"


def report_table(result: dict) -> tuple[list[TabularColumn], list[list]]:
    """(columns, rows). A column holding any text is user text (neutralised in CSV, see
    tabular_export.py); one of numbers only is left alone, so -5 stays a number."""
    headers, rows = _table(result)
    columns = [TabularColumn(h, user_text=any(isinstance(r[i], str) for r in rows) or not rows)
               for i, h in enumerate(headers)]
    return columns, rows


def _figure_header(summary: dict, corporate: str | None) -> str:
    """A summary of amounts is converted to the corporate currency: its header says which."""
    return f"{summary['label']} ({corporate})" if summary.get("format") == "currency" and corporate else summary["label"]


def _table(result: dict) -> tuple[list[str], list[list]]:
    summaries = result["summaries"]
    figures = [_figure_header(s, result.get("corporate_currency")) for s in summaries]
    if result["format"] == "tabular":
        # an amount in its record's currency follows a column of that currency's code
        headers = [h for c in result["columns"]
                   for h in ((code_header(c["label"]), c["label"]) if c.get("currency") else (c["label"],))]
        rows = [[v for c in result["columns"]
                 for v in ((record.get(c["currency"]), record.get(c["name"])) if c.get("currency")
                           else (record.get(c["name"]),))]
                for record in result["rows"]]
        if result.get("total"):          # the grand totals in figure columns of their own, last
            width = len(headers)
            rows = [r + [None] * len(figures) for r in rows]
            rows.append([TOTAL] + [None] * (width - 1) + [result["total"].get(s["name"]) for s in summaries])
            headers = headers + figures
        return headers, rows
    groupings = result["groupings"] + result["column_groupings"]
    headers = [g["label"] for g in groupings] + figures

    def line(group: dict | None, values: dict) -> list:
        keys = []
        for g in groupings:
            if group is None or g["key"] not in group["key"]:
                keys.append(None)
            else:
                keys.append(group_name({"key": {g["key"]: group["key"][g["key"]]}, "labels": group.get("labels")}))
        return keys + [values.get(s["name"]) for s in summaries]

    rows = []
    if result["format"] == "summary":
        def walk(groups):
            for g in groups:
                if g.get("groups"):
                    walk(g["groups"])
                rows.append(line(g, g["values"]))
        walk(result["groups"])
    else:
        for cell in result["cells"]:
            row = result["rows"][cell["row"]] if cell["row"] is not None else {"key": {}}
            col = result["columns"][cell["column"]] if cell["column"] is not None else {"key": {}}
            merged = {"key": {**row["key"], **col["key"]},
                      "labels": {**row.get("labels", {}), **col.get("labels", {})}}
            rows.append(line(merged, cell["values"]))
        rows += [line(r, r["values"]) for r in result["rows"]]
        rows += [line(c, c["values"]) for c in result["columns"]]
    total = line(None, result["total"])
    total[0] = TOTAL
    rows.append(total)
    return headers, rows
