"""Reading an uploaded table — CSV (UTF-8) or XLSX — into a header and rows of text, within limits.

Every refusal is an InputError whose message names where the file went wrong (a line and byte
for a broken encoding, the sheet's size for a spreadsheet too big). Limits (class Limits) are
checked before the work they protect:
  * the file's size, before anything is parsed;
  * an XLSX is a zip archive: its entries' declared uncompressed sizes and compression ratios are
    read from the zip directory before any entry is inflated (a zip bomb is refused unopened);
  * the sheet's declared dimensions (`<dimension ref="A1:Z100000">`, which openpyxl's read_only
    mode reports without reading the rows) against the row and cell limits, and then the rows
    actually read against the same limits (the declaration may be missing or lie);
  * a CSV's rows and cells, counted while reading.
Cells come back as text (what a CSV holds): XLSX numbers without a float's noise, dates and
datetimes in ISO 8601, booleans as true/false. Blank rows are skipped (their numbers are kept).
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

FORMATS = ("csv", "xlsx")


class InputError(ValueError):
    """The file cannot be read as a table (the message says why, and where)."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024          # the uploaded file
    max_rows: int = 200_000                    # data rows (the header not counted)
    max_cells: int = 5_000_000                 # rows × columns
    max_columns: int = 500
    max_unzipped: int = 200 * 1024 * 1024      # an XLSX's entries, declared uncompressed sizes summed
    max_ratio: int = 200                       # an XLSX entry's uncompressed / compressed size


@dataclass
class Sheet:
    headers: list[str]
    rows: list[list[str]]           # each as long as headers
    lines: list[int]                # the file line (CSV) or sheet row (XLSX) each row starts on

    def __len__(self):
        return len(self.rows)


def format_of(filename: str, given: str | None = None) -> str:
    name = filename or ""
    fmt = (given or (name.rsplit(".", 1)[-1] if "." in name else "")).lower()
    if fmt not in FORMATS:
        raise InputError(f"{filename or 'the file'}: expected a .csv or .xlsx file")
    return fmt


def read_table(data: bytes, fmt: str, limits: Limits = Limits()) -> Sheet:
    if len(data) > limits.max_bytes:
        raise InputError(f"the file is {len(data):,} bytes: an import takes at most {limits.max_bytes:,}")
    if not data.strip():
        raise InputError("the file is empty (expected a header row of column names)")
    sheet = _read_xlsx(data, limits) if fmt == "xlsx" else _read_csv(data, limits)
    if not sheet.headers:
        raise InputError("the file is empty (expected a header row of column names)")
    if any(not h for h in sheet.headers):
        raise InputError("the header row has an empty column name")
    return sheet


def _read_csv(data: bytes, limits: Limits) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"not UTF-8 text: byte 0x{data[exc.start]:02X} at line {line}, column {column} "
                         f"(byte {exc.start + 1} of the file) — save it as CSV UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = [h.strip() for h in next(reader, [])]
        _check_columns(len(headers), limits)
        rows, lines, line, width = [], [], reader.line_num + 1, len(headers)
        max_rows = min(limits.max_rows, limits.max_cells // max(width, 1))
        for cells in reader:
            if "".join(cells).strip():
                if len(cells) != width:
                    if len(cells) > width:
                        raise InputError(f"line {line} has more values than the header has columns")
                    cells += [""] * (width - len(cells))
                rows.append(cells)
                lines.append(line)
                if len(rows) > max_rows:
                    _check_size(len(rows), width, limits)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"line {reader.line_num}: {exc}") from None
    return Sheet(headers, rows, lines)


def _check_columns(n: int, limits: Limits) -> None:
    if n > limits.max_columns:
        raise InputError(f"the file has {n:,} columns: an import takes at most {limits.max_columns:,}")


def _check_size(rows: int, columns: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise InputError(f"the file has more than {limits.max_rows:,} rows: an import takes at most "
                         f"{limits.max_rows:,} (split it)")
    if rows * columns > limits.max_cells:
        raise InputError(f"the file has more than {limits.max_cells:,} cells: split it")


def _read_xlsx(data: bytes, limits: Limits) -> Sheet:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise InputError("not an XLSX file (it is not a zip archive: save the spreadsheet as .xlsx)") from None
    total = sum(e.file_size for e in entries)
    if total > limits.max_unzipped:
        raise InputError(f"the spreadsheet unpacks to {total:,} bytes: an import takes at most "
                         f"{limits.max_unzipped:,} (a zip bomb, or too big: split it)")
    for e in entries:
        if e.file_size > 1024 * 1024 and e.file_size > limits.max_ratio * max(e.compress_size, 1):
            raise InputError(f"the spreadsheet's part {e.filename} is compressed {e.file_size // max(e.compress_size, 1):,} "
                             f"to 1: refused as a zip bomb")
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:   # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors)
        raise InputError(f"not a readable XLSX file ({type(exc).__name__}: {str(exc)[:200]})") from None
    try:
        ws = book.worksheets[0] if book.worksheets else None
        if ws is None:
            raise InputError("the spreadsheet has no sheet")
        declared_rows, declared_columns = ws.max_row or 0, ws.max_column or 0   # from <dimension>
        if declared_rows - 1 > limits.max_rows or declared_columns > limits.max_columns \
                or declared_rows * declared_columns > limits.max_cells:
            raise InputError(f"the sheet declares {declared_rows:,} rows × {declared_columns:,} columns: an import "
                             f"takes at most {limits.max_rows:,} rows, {limits.max_columns:,} columns and "
                             f"{limits.max_cells:,} cells")
        headers, rows, lines = None, [], []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if headers is None:
                if len(values) > limits.max_columns:
                    _check_columns(len(values), limits)
                headers = [_text(v).strip() for v in values]
                while headers and not headers[-1]:
                    headers.pop()
                continue
            cells = [_text(v) for v in values]
            if any(c.strip() for c in cells):
                if any(c.strip() for c in cells[len(headers):]):
                    raise InputError(f"row {number} has more values than the header has columns")
                cells = cells[:len(headers)]
                rows.append(cells + [""] * (len(headers) - len(cells)))
                lines.append(number)
                _check_size(len(rows), len(headers), limits)
            elif number - (lines[-1] if lines else 1) > limits.max_rows:
                raise InputError(f"the sheet has more than {limits.max_rows:,} rows")
        return Sheet(headers or [], rows, lines)
    finally:
        book.close()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)
