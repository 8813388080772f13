"""Rows → CSV or XLSX files, for exports of list views (web/ui/views_export.py) and reports.

The caller decides what a cell holds: CSV cells are text as users see it ("$1,200.00", "Mar 4,
2026"); XLSX cells are typed values (numbers, dates, datetimes without a time zone, timedeltas,
booleans, text), optionally wrapped in `Formatted` to carry an Excel number format.

Spreadsheet formula injection (OWASP "CSV injection"): a spreadsheet opening the file runs a cell
that starts with = + - @ (or a tab / carriage return, which some strip before parsing) as a
formula — `=HYPERLINK(...)` or DDE payloads typed into a record's name by anyone who can edit it
would run on the exporter's machine. CSV text cells starting so are prefixed with `'`, which
spreadsheets read as "this is text". A column marked `user_text=False` holds only the platform's
own formatting of numbers and dates (a negative amount "-$5.00" must stay a number), never user
text, and is left alone. In XLSX, openpyxl itself would store a string starting with "=" as a
formula: text cells are written with the string data type, so nothing is ever a formula.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Iterable, Iterator, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 has no place for these control characters: openpyxl raises IllegalCharacterError on them
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_COLUMN_WIDTH = 60
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class TabularColumn:
    header: str
    user_text: bool = True        # False: cells are the platform's formatting of numbers/dates only
    number_format: str | None = None   # the XLSX format of this column's typed cells


@dataclass(frozen=True)
class Formatted:
    """An XLSX cell value with its own number format (an amount in its record's currency)."""
    value: object
    number_format: str


def neutralise(text: str) -> str:
    """A CSV text cell that a spreadsheet would run as a formula, made plain text (see the module doc)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Lines:
    """A file-like target for csv.writer that hands back what was written since the last call."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        out, self.parts = "".join(self.parts), []
        return out


def csv_chunks(columns: Sequence[TabularColumn], rows: Iterable[Sequence[str | None]]) -> Iterator[str]:
    """The CSV text in chunks (one per row), header first, for a streamed response. It starts with
    a byte-order mark: Excel reads a CSV without one in the machine's legacy code page, mangling
    every accented name."""
    out = _Lines()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c.header) for c in columns])
    yield "\ufeff" + out.take()
    for row in rows:
        writer.writerow(["" if value is None else (neutralise(str(value)) if c.user_text else str(value))
                         for c, value in zip(columns, row)])
        yield out.take()


def xlsx_bytes(columns: Sequence[TabularColumn], rows: Iterable[Sequence], sheet_title: str = "Export") -> bytes:
    """An .xlsx workbook of one sheet: a bold, frozen header row, then `rows` as typed cells."""
    from openpyxl import Workbook            # imported here: only exports pay for loading it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    # write-only mode streams rows to a temporary file instead of keeping a cell object per value
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet_title))
    ws.freeze_panes = "A2"
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(len(c.header) + 4, 12), MAX_COLUMN_WIDTH)
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = _cell(ws, WriteOnlyCell, c.header, None)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    try:
        for row in rows:
            ws.append([_cell(ws, WriteOnlyCell, value, c.number_format) for c, value in zip(columns, row)])
    except BaseException:
        ws.close()     # finish the sheet's temporary file now, not when the garbage collector finds it
        raise
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _cell(ws, cell_class, value, number_format: str | None):
    if isinstance(value, Formatted):
        value, number_format = value.value, value.number_format
    if isinstance(value, datetime) and value.tzinfo is not None:
        raise ValueError("XLSX cells cannot hold a time zone: pass the local time without tzinfo")
    if value is not None and not isinstance(value, (int, float, Decimal, date, time, timedelta, bool)):
        value = _ILLEGAL_XML.sub("", str(value))
        cell = cell_class(ws, value=value)
        cell.data_type = "s"        # never a formula, even when the text starts with "="
        return cell
    cell = cell_class(ws, value=value)
    if number_format and value is not None and not isinstance(value, bool):
        cell.number_format = number_format
    return cell


def _sheet_title(title: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Export"
