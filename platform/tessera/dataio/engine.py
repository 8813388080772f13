"""The import engine: a Sheet (sources.py) + a checked mapping (mapping.py) → records, all or nothing.

Used by `tessera import` and by the wizard's background job alike. Rows become record input
(`{"company": {"code": "C-1"}}` for a lookup matched by a key) and go through the record service's
bulk paths in one transaction: `bulk_create` (insert) or `bulk_upsert` (update: every key must
exist; upsert: the others are created). Lookups are matched within records/natural_keys.py's
`wider_keys()`, so a name field need not be unique (a shared name is an error of that row). Any
failing row saves nothing; every failure comes back as a RowError (row, file line, column,
field, message), written as CSV by `errors_csv`.

`preview` runs the same path on the first rows in a transaction that is always rolled back: the
user sees exactly the errors the real run would report for them, and nothing is kept.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field as dc_field
from operator import itemgetter

from ..records.errors import BulkFailed, RecordError
from ..records.natural_keys import wider_keys
from ..storage.engine import begin_write
from .mapping import related_cell
from .sources import Sheet


@dataclass(frozen=True)
class Spec:
    object_name: str
    mapping: dict                      # header -> "" | field | lookup.key (checked: mapping.check)
    operation: str = "insert"          # insert | update | upsert
    match_field: str | None = None
    allow_duplicates: bool = False     # save rows despite block duplicate rules that allow an override


@dataclass
class RowError:
    row: int          # 1 = the first data row
    line: int         # the file's line (CSV) or the sheet's row (XLSX)
    column: str       # the header of the column the error is about ("" for the row as a whole)
    field: str
    message: str


@dataclass
class Outcome:
    created: list = dc_field(default_factory=list)
    updated: list = dc_field(default_factory=list)
    errors: list[RowError] = dc_field(default_factory=list)
    total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class _Rollback(Exception):
    pass


def records_of(sheet: Sheet, spec: Spec, limit: int | None = None, rt=None) -> list[dict]:
    """The rows as record input: a cell per mapped column; a lookup matched by a key as
    {lookup: {key: cell}} (a blank cell: no record); a related_to mapped by name (`rt` given) as
    {"object": …, key: …} (mapping.related_cell)."""
    plan = []
    for i, header in enumerate(sheet.headers):
        target = spec.mapping.get(header) or ""
        if target:
            name, _, key = target.partition(".")
            plan.append((i, name, key))
    rows = sheet.rows if limit is None else sheet.rows[:limit]
    if not plan:
        return [{} for _ in rows]
    names = [name for _, name, _ in plan]
    pick = itemgetter(*[i for i, _, _ in plan]) if len(plan) > 1 else (lambda cells, i=plan[0][0]: (cells[i],))
    out = [dict(zip(names, pick(cells))) for cells in rows]     # in C: ~20 ms for 20,000 rows
    for _, name, key in plan:
        if key and _is_related(rt, spec.object_name, name):
            for record in out:
                record[name] = related_cell(rt, record[name])
        elif key:
            for record in out:
                record[name] = {key: record[name]}
    return out


def _is_related(rt, object_name: str, field_name: str) -> bool:
    if rt is None or object_name not in rt.objects:
        return False
    field = rt.objects[object_name].obj.fields.get(field_name)
    return field is not None and field.type == "related_to"


def run(services, actor, sheet: Sheet, spec: Spec, *, progress=None, conn=None, limit: int | None = None) -> Outcome:
    """Import the rows (the first `limit` of them); on `conn` (its open transaction) when given.
    A failure of any row saves nothing and is returned as errors, not raised; a refusal of the
    whole import (no right to create, an unknown object) raises RecordError."""
    rows = records_of(sheet, spec, limit, services.records.runtime())
    outcome = Outcome(total=len(rows))
    records = services.records
    if conn is not None:
        scope = records.on_connection(conn)
    else:
        from contextlib import nullcontext
        scope = nullcontext()
    try:
        with scope, wider_keys():
            if spec.operation == "insert":
                outcome.created = records.bulk_create(actor, spec.object_name, rows, from_text=True, progress=progress,
                                                      allow_duplicates=spec.allow_duplicates)
            else:
                outcome.created, outcome.updated = records.bulk_upsert(
                    actor, spec.object_name, rows, spec.match_field, from_text=True, progress=progress,
                    by_unique=True, must_exist=spec.operation == "update", allow_duplicates=spec.allow_duplicates)
    except BulkFailed as exc:
        outcome.created, outcome.updated = [], []
        outcome.errors = row_errors(sheet, spec, exc.details["rows"])
    return outcome


def preview(services, actor, sheet: Sheet, spec: Spec, rows: int = 10) -> Outcome:
    """The first `rows` rows through the real path, rolled back: their errors, nothing kept."""
    result = None
    try:
        with begin_write(services.engine) as conn:
            result = run(services, actor, sheet, spec, conn=conn, limit=rows)
            raise _Rollback
    except _Rollback:
        pass
    return result


def row_errors(sheet: Sheet, spec: Spec, failures: list[dict]) -> list[RowError]:
    columns = {}
    for header, target in spec.mapping.items():
        if target:
            columns.setdefault(target.partition(".")[0], header)
    out = []
    for failure in failures:
        index = failure["index"]
        line = sheet.lines[index] if index < len(sheet.lines) else index + 2
        for name, messages in (failure.get("fields") or {}).items():
            for message in messages:
                out.append(RowError(index + 1, line, columns.get(name, ""), "" if name == "_record" else name, message))
        for rule in failure.get("rules", ()):
            out.append(RowError(index + 1, line, "", "", rule["message"]))
    return out


def errors_csv(errors: list[RowError]) -> bytes:
    """The per-row error report: row, line, column, field, message (UTF-8 with a BOM for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "line", "column", "field", "message"])
    for e in errors:
        writer.writerow([e.row, e.line, _safe(e.column), e.field, _safe(e.message)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (text from the file comes back in messages)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


__all__ = ["Spec", "RowError", "Outcome", "run", "preview", "errors_csv", "records_of", "RecordError"]
