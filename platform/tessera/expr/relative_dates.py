"""Relative date functions: Salesforce's date literals (THIS_QUARTER, LAST_N_DAYS:30, ...) as
boolean functions of a date or datetime, `THIS_QUARTER(close_date)`.

Each one names a half-open range of days `start <= d < end` around today (`now`'s UTC date). The
bounds are computed here, in Python, once per query or evaluation, and enter SQL as bound
parameters: a filter on a stored field is a plain range comparison that can use an index, and the
Python and SQL targets compare with the very same bounds. A datetime is compared with the UTC
midnights of those days (its UTC date falls in the range), as TODAY() is `now`'s UTC date. A blank
value is in no period: the result is false, never blank.

The periods and their exact ranges are listed in the package docstring (expr/__init__.py) and in
metadata/README.md; PERIODS below is their definition. Weeks start on Monday (ISO 8601, as the
aggregate's week buckets).

n is a whole-number literal, 0 or more: the bounds are computed before the query runs, so n cannot
be a field. A fiscal year is named by the calendar year in which it ends (Salesforce's default): with
fiscal_year_start_month 4, fiscal year 2027 runs from 1 April 2026 to 31 March 2027. Periods reaching
past year 9999 or before year 1 are cut at the end of the calendar.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Callable

from sqlalchemy import and_, false
from sqlalchemy.sql.elements import ColumnElement

from . import types as t
from .errors import ExprError
from .nodes import InPeriod, Literal, Node

if TYPE_CHECKING:
    from .check import Checker

_FIRST, _LAST = date.min.toordinal(), date.max.toordinal()


@dataclass(frozen=True)
class Period:
    # (today's ordinal, n, fiscal start month) -> (first day's ordinal, the day after the last one's)
    days: Callable[[int, int, int], tuple[int, int]]
    count: str | None = None     # what n counts ("days", "months"); None: the function takes no n
    fiscal: bool = False


def _day_range(offset: int, length: int) -> Callable:
    """`length` days starting `offset` days from today."""
    return lambda today, n, fiscal: (today + offset, today + offset + length)


def _week(offset: int) -> Callable:
    def days(today, n, fiscal):
        monday = today - date.fromordinal(today).weekday()
        return monday + 7 * offset, monday + 7 * offset + 7
    return days


def _month_index(today: int) -> int:
    day = date.fromordinal(today)
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> int:
    """The ordinal of the first day of month `index` (year * 12 + month - 1), past either end of the
    calendar clamped just beyond it (so it reads as "unbounded" there)."""
    year, month = divmod(index, 12)
    if year < 1:
        return _FIRST - 1
    if year > 9999:
        return _LAST + 1
    return date(year, month + 1, 1).toordinal()


def _months(length: int, offset: int, fiscal: bool = False) -> Callable:
    """The `length`-month period holding today (periods aligned on January, or on the fiscal year's
    first month), moved by `offset` periods."""
    def days(today, n, fiscal_start):
        index = _month_index(today)
        first = index - (index - ((fiscal_start if fiscal else 1) - 1)) % length + offset * length
        return _month_start(first), _month_start(first + length)
    return days


def _months_around(after: bool) -> Callable:
    """The n whole months before (or after) the current one."""
    def days(today, n, fiscal):
        index = _month_index(today)
        first = index + 1 if after else index - n
        return _month_start(first), _month_start(first + n)
    return days


PERIODS: dict[str, Period] = {
    "YESTERDAY": Period(_day_range(-1, 1)),
    "IS_TODAY": Period(_day_range(0, 1)),
    "TOMORROW": Period(_day_range(1, 1)),
    "LAST_WEEK": Period(_week(-1)), "THIS_WEEK": Period(_week(0)), "NEXT_WEEK": Period(_week(1)),
    "LAST_MONTH": Period(_months(1, -1)), "THIS_MONTH": Period(_months(1, 0)), "NEXT_MONTH": Period(_months(1, 1)),
    "LAST_QUARTER": Period(_months(3, -1)), "THIS_QUARTER": Period(_months(3, 0)),
    "NEXT_QUARTER": Period(_months(3, 1)),
    "LAST_YEAR": Period(_months(12, -1)), "THIS_YEAR": Period(_months(12, 0)), "NEXT_YEAR": Period(_months(12, 1)),
    "LAST_FISCAL_QUARTER": Period(_months(3, -1, True), fiscal=True),
    "THIS_FISCAL_QUARTER": Period(_months(3, 0, True), fiscal=True),
    "NEXT_FISCAL_QUARTER": Period(_months(3, 1, True), fiscal=True),
    "LAST_FISCAL_YEAR": Period(_months(12, -1, True), fiscal=True),
    "THIS_FISCAL_YEAR": Period(_months(12, 0, True), fiscal=True),
    "NEXT_FISCAL_YEAR": Period(_months(12, 1, True), fiscal=True),
    "LAST_N_DAYS": Period(lambda today, n, fiscal: (today - n, today + 1), count="days"),
    "NEXT_N_DAYS": Period(lambda today, n, fiscal: (today + 1, today + 1 + n), count="days"),
    "N_DAYS_AGO": Period(lambda today, n, fiscal: (today - n, today - n + 1), count="days"),
    "LAST_N_MONTHS": Period(_months_around(after=False), count="months"),
    "NEXT_N_MONTHS": Period(_months_around(after=True), count="months"),
}


def period_bounds(node: InPeriod, today: date) -> tuple[date | None, date | None] | None:
    """[start, end) of the node's period around `today`: None for an empty period, a None bound
    where the period runs past the calendar's end (no bound needed there)."""
    start, end = PERIODS[node.name].days(today.toordinal(), node.count or 0, node.fiscal_start_month)
    if end <= max(start, _FIRST) or start > _LAST:
        return None
    return (date.fromordinal(start) if start > _FIRST else None,
            date.fromordinal(end) if end <= _LAST else None)


# -- checking ----------------------------------------------------------------------------------

def check_period(checker: "Checker", node) -> Node:
    period = PERIODS[node.name]
    wanted = 2 if period.count else 1
    if len(node.args) != wanted:
        shape = f"{node.name}(close_date, 30)" if period.count else f"{node.name}(close_date)"
        raise ExprError(f"function {node.name} takes {wanted} argument{'s' if wanted > 1 else ''} "
                        f"(e.g. {shape}), got {len(node.args)}", node.column)
    value = checker.check(node.args[0])
    if value.type not in (t.DATE, t.DATETIME, t.NULL):
        raise ExprError(f"function {node.name}: argument 1 must be a date or datetime, got {t.describe(value.type)}",
                        node.args[0].column)
    count = None
    if period.count:
        count = _count(checker, node, period.count)
    if value.type == t.NULL:
        return Literal(t.BOOLEAN, False)   # a blank value is in no period
    fiscal_start = fiscal_start_month(checker.resolve_type) if period.fiscal else 1
    return InPeriod(t.BOOLEAN, node.name, value, count, fiscal_start)


def _count(checker: "Checker", node, what: str) -> int:
    syntax = node.args[1]
    value = checker.check(syntax)
    if not (isinstance(value, Literal) and value.type == t.INTEGER and value.value is not None):
        raise ExprError(f"function {node.name}: argument 2 (the number of {what}) must be a whole-number "
                        f"literal, e.g. {node.name}(close_date, 30)", syntax.column)
    if value.value < 0:
        raise ExprError(f"function {node.name}: argument 2 (the number of {what}) must not be negative, "
                        f"got {value.value}", syntax.column)
    return value.value


def fiscal_start_month(resolve_type) -> int:
    """The first month of the fiscal year, from the resolver (meta.validate.resolver reads the org
    settings); a resolver that does not say has calendar fiscal years."""
    month = getattr(resolve_type, "fiscal_year_start_month", None)
    return month if isinstance(month, int) and 1 <= month <= 12 else 1


# -- the targets -------------------------------------------------------------------------------

def period_python(node: InPeriod, compile_python) -> Callable:
    operand = compile_python(node.operand)

    def in_period(env):
        value = operand(env)
        if value is None:
            return False
        bounds = period_bounds(node, env.today)
        if bounds is None:
            return False
        day = value.date() if isinstance(value, datetime) else value   # values are normalized to UTC
        start, end = bounds
        return (start is None or start <= day) and (end is None or day < end)
    return in_period


def period_sql(node: InPeriod, value: ColumnElement, dialect, now: datetime) -> ColumnElement:
    """`value` (the operand, compiled) within the period, with its bounds as parameters."""
    bounds = period_bounds(node, now.date())
    if bounds is None:
        return false()
    start, end = bounds
    kind = node.operand.type
    # IS NOT NULL: a blank value gives false, not NULL, as in Python (so NOT THIS_MONTH(d) keeps blanks)
    conditions = [value.is_not(None)]
    if start is not None:
        conditions.append(value >= dialect.day_start(start, kind))
    if end is not None:
        conditions.append(value < dialect.day_start(end, kind))
    return and_(*conditions)
