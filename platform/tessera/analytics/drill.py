"""Drill-down: the expression selecting a report group's records, so a click on a bar, slice or row
opens the matching list (`filter=` of the list and the query API). Values are written as literals
(expr/literals.py), never spliced in as text; a date bucket becomes its half-open range."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from ..expr.literals import expr_literal

_MONTHS = {"month": 1, "quarter": 3, "year": 12, "fiscal_quarter": 3, "fiscal_year": 12}
_NUMERIC = {"number", "currency", "percent", "integer", "duration"}


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bucket_end(start: date, unit: str) -> date:
    """The first day after the bucket starting on `start`."""
    if unit == "day":
        return date.fromordinal(start.toordinal() + 1)
    if unit == "week":
        return date.fromordinal(start.toordinal() + 7)
    return add_months(start, _MONTHS[unit])


def bucket_label(value: str | None, unit: str, fiscal_start_month: int = 1) -> str | None:
    """How a date bucket is named: Dec 7, 2026 · Week of Dec 7, 2026 · Dec 2026 · Q4 2026 · 2026 ·
    FY2027 Q1 · FY2027 (a fiscal year is named by the calendar year it ends in)."""
    if value is None:
        return None
    start = date.fromisoformat(value)
    if unit == "day":
        return f"{start:%b} {start.day}, {start.year}"
    if unit == "week":
        return f"Week of {start:%b} {start.day}, {start.year}"
    if unit == "month":
        return f"{start:%b %Y}"
    if unit == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if unit == "year":
        return str(start.year)
    fiscal_year = start.year + (1 if fiscal_start_month > 1 and start.month >= fiscal_start_month else 0)
    if unit == "fiscal_year":
        return f"FY{fiscal_year}"
    return f"FY{fiscal_year} Q{(start.month - fiscal_start_month) % 12 // 3 + 1}"


def group_filter(key: dict, groupings: dict, fiscal_start_month: int = 1) -> str | None:
    """`stage == 'Won' and close_date >= DATE(2026, 4, 1) and close_date < DATE(2026, 7, 1)`;
    None when a key cannot be written as a condition (a time of day)."""
    parts = []
    for name, value in key.items():
        g = groupings[name]
        path = name.split(":")[0]
        if value is None:
            parts.append(f"{path} == None")
            continue
        if g.unit is not None:
            start = date.fromisoformat(value)
            end = bucket_end(start, g.unit)
            field = f"DATEVALUE({path})" if g.source_type == "datetime" else path
            parts.append(f"{field} >= {expr_literal(start)} and {field} < {expr_literal(end)}")
            continue
        if g.field_type in _NUMERIC and isinstance(value, (str, float)):
            value = Decimal(str(value))
        elif g.field_type in ("date",) and isinstance(value, str):
            value = date.fromisoformat(value)
        elif g.field_type in ("datetime", "time"):
            return None
        try:
            parts.append(f"{path} == {expr_literal(value)}")
        except (TypeError, ValueError):
            return None
    return " and ".join(parts) or None
