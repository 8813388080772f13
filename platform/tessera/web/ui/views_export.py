"""Export of a list view's current state (visible columns, every row of its filter, in its sort) to
CSV or XLSX — `/app/<app>/<object>/export.csv|xlsx` with the list's own query string.

Gated by the `export_data` system permission (security/policy.py): bulk export is how data leaves
the org. Rows are read page by page through the record service as the signed-in user (keyset
cursors, EXPORT_PAGE at a time), so sharing and field access apply as on the list. At most
TESSERA_EXPORT_MAX_ROWS rows (default MAX_EXPORT_ROWS): a bigger view is refused up front with a
message on the list, rather than cut silently. CSV cells are formatted as the list shows them;
XLSX cells are typed (numbers, dates, datetimes in the user's time zone, durations). The files
are written by analytics/tabular_export.py.
"""
from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from flask import Response, current_app, flash, redirect, request, stream_with_context

from ...analytics.tabular_export import (CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, Formatted, TabularColumn, csv_chunks,
                                         xlsx_bytes)
from ...currency.columns import code_header
from ...records.errors import BadQuery
from .context import access, actor, forbidden, not_found, records, ui
from .display import currency_symbol, local_datetime, plain_text
from .meta import Column, require_app, require_object
from .views_list import ListState, apply_saved, load_list

MAX_EXPORT_ROWS = 50_000
EXPORT_PAGE = 1000                 # the record service's largest page
FORMATS = ("csv", "xlsx")
TYPED = {"currency", "number", "percent", "integer", "duration", "date", "datetime", "time", "boolean"}
_LOOKUPS = {"lookup", "master_detail"}


def max_rows() -> int:
    return int(current_app.config.get("TESSERA_EXPORT_MAX_ROWS", MAX_EXPORT_ROWS))


@ui.get("/<app_name>/<object_name>/export.<fmt>")
def export_list(app_name, object_name, fmt):
    require_app(app_name)
    obj = require_object(object_name)
    if fmt not in FORMATS:
        not_found(f"Lists export as {' or '.join(FORMATS)}.")
    if not access().system("export_data"):
        forbidden("You don't have permission to export data (it needs the Export Data permission).")
    state = ListState.from_args(request.args, obj)
    apply_saved(state, obj, request.args)
    data = load_list(app_name, obj, state, flat=True)     # flat: every record of the filter, never a tree
    cols, back = data["columns"], state.url(app_name, obj.name)

    def page(cursor=None, count=False):
        return records().query(actor(), obj.name, filter=data["filter"], search=data["search"], sort=data["sort"] or None,
                               fields=data["fields"], limit=EXPORT_PAGE, cursor=cursor, count=count)
    try:
        first = page(count=True)
    except BadQuery as exc:
        flash(f"This view could not be exported: {exc.message}", "danger")
        return redirect(back, 303)
    if first.total > max_rows():
        flash(f"This view has {first.total:,} {obj.plural_label.lower()}: an export holds at most "
              f"{max_rows():,}. Narrow it with a search or filter, then export again.", "danger")
        return redirect(back, 303)

    def all_records():
        result = first
        while True:
            yield from result.records
            if not result.next_cursor:
                return
            result = page(result.next_cursor)

    name = f"{obj.name}-{date.today().isoformat()}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        columns = [column for c in cols for column in _with_code(c, TabularColumn(c.label, user_text=c.field.type not in TYPED))]
        rows = ([cell for c in cols for cell in _with_code_cell(c, r, _text(c, r))] for r in all_records())
        return Response(stream_with_context(csv_chunks(columns, rows)), mimetype=CSV_MEDIA_TYPE.split(";")[0],
                        headers=headers)
    columns = [column for c in cols for column in _with_code(c, TabularColumn(c.label, number_format=_number_format(c)))]
    body = xlsx_bytes(columns, ([cell for c in cols for cell in _with_code_cell(c, r, _typed(c, r))]
                                for r in all_records()), obj.plural_label)
    return Response(body, mimetype=XLSX_MEDIA_TYPE, headers=headers)


def _with_code(c: Column, column: TabularColumn) -> tuple[TabularColumn, ...]:
    """An amount in its record's currency comes after a column of that currency's code
    (currency/columns.py): "Amount Currency", "Amount"."""
    if c.field.type == "currency" and c.currency_path:
        return TabularColumn(code_header(c.label), user_text=False), column
    return (column,)


def _with_code_cell(c: Column, row: dict, cell) -> tuple:
    if c.field.type == "currency" and c.currency_path:
        return row.get(c.currency_path), cell
    return (cell,)


def _text(c: Column, row: dict) -> str:
    """A cell as the list shows it."""
    if c.field.type in _LOOKUPS:
        return str(row.get(c.lookup_text) or "") if c.lookup_text else ""
    if c.field.type == "boolean" and row.get(c.path) is None:
        return "No"                    # as the list shows a blank checkbox
    if c.field.type == "image" and isinstance(row.get(c.path), dict):
        return str(row[c.path].get("url") or "")   # an IMAGE() picture: where it is, not its alt text
    return plain_text(c.field, row.get(c.path), row.get(c.currency_path) if c.currency_path else None)


def _number_format(c: Column) -> str | None:
    t, scale = c.field.type, int(c.field.options.get("scale", 2))
    decimals = "." + "0" * scale if scale > 0 else ""
    return {"number": f"#,##0{decimals}", "integer": "#,##0", "percent": f"0{decimals}%",
            "duration": "[h]:mm:ss", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm",
            "time": "h:mm AM/PM", "currency": f'"{currency_symbol()}"#,##0{decimals}'}.get(t)


def _typed(c: Column, row: dict):
    """A cell as a typed XLSX value; text (formatted as shown) for everything that is not a number,
    date, time, duration or yes/no."""
    t, value = c.field.type, row.get(c.path)
    if t not in TYPED:
        return _text(c, row) or None
    if value is None:
        return False if t == "boolean" else None
    if t == "boolean":
        return bool(value)
    if t == "date":
        return date.fromisoformat(str(value))
    if t == "datetime":
        local = local_datetime(value)
        return local.replace(tzinfo=None) if local is not None else str(value)
    if t == "time":
        return time.fromisoformat(str(value))
    if t == "duration":
        return timedelta(seconds=int(value))
    number = Decimal(str(value))
    if t == "percent":
        return number / 100               # Excel's percent format multiplies by 100
    if t == "integer":
        return int(number)
    if t == "currency" and c.currency_path and row.get(c.currency_path):
        scale = int(c.field.options.get("scale", 2))
        return Formatted(number, f'"{currency_symbol(row[c.currency_path])}"#,##0{"." + "0" * scale if scale else ""}')
    return number
