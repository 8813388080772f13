"""Relative date functions (expr/relative_dates.py): THIS_QUARTER(d), LAST_N_DAYS(d, n), the fiscal
periods... — exact ranges at their boundaries, the same answer in Python, SQLite and PostgreSQL (a
property test against an independent reading of each period), bounds bound as parameters, and bad
calls refused with a clear message."""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from tessera.expr import ExprError, compile_expression

from expr_db import FIELDS, resolve_type

UTC = timezone.utc


class FiscalResolver:
    """The test table's fields, in an org whose fiscal year starts in `month` (meta.validate.resolver
    reads it from the org settings)."""

    def __init__(self, month: int):
        self.fiscal_year_start_month = month

    def __call__(self, path):
        return resolve_type(path)


def at(day: date, hour=12, minute=0, second=0, micro=0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=UTC)


def compiled(text: str, fiscal: int = 1):
    return compile_expression(text, FiscalResolver(fiscal), expected="boolean")


def check_everywhere(db, text: str, value, now: datetime, expected: bool, fiscal: int = 1):
    """The expression on one record whose `due` (a date) or `seen` (a datetime) is `value`: the same
    answer from Python, from SQL as a selected value and from SQL as a WHERE clause."""
    expression = compiled(text, fiscal)
    field = ("seen",) if isinstance(value, datetime) else ("due",)
    assert expression.evaluate({field: value}, now=now) is expected, (text, value, "python")
    assert bool(db.run(expression, [{field: value}], now=now)[0]) is expected, (text, value, db.dialect_name)
    assert db.where(expression, [{field: value}], now=now) == ([0] if expected else []), (text, value, "where")


# Thursday 29 February 2024 (a leap day), 23:30 UTC
NOW = datetime(2024, 2, 29, 23, 30, tzinfo=UTC)

CASES = [
    # the day functions
    ("IS_TODAY(due)", date(2024, 2, 29), True), ("IS_TODAY(due)", date(2024, 3, 1), False),
    ("YESTERDAY(due)", date(2024, 2, 28), True), ("YESTERDAY(due)", date(2024, 2, 29), False),
    ("TOMORROW(due)", date(2024, 3, 1), True), ("TOMORROW(due)", date(2024, 2, 29), False),
    # weeks start on Monday: this week is Mon 26 Feb - Sun 3 Mar
    ("THIS_WEEK(due)", date(2024, 2, 26), True), ("THIS_WEEK(due)", date(2024, 3, 3), True),
    ("THIS_WEEK(due)", date(2024, 2, 25), False), ("THIS_WEEK(due)", date(2024, 3, 4), False),
    ("LAST_WEEK(due)", date(2024, 2, 19), True), ("LAST_WEEK(due)", date(2024, 2, 25), True),
    ("LAST_WEEK(due)", date(2024, 2, 26), False), ("NEXT_WEEK(due)", date(2024, 3, 4), True),
    ("NEXT_WEEK(due)", date(2024, 3, 10), True), ("NEXT_WEEK(due)", date(2024, 3, 11), False),
    # months around a leap day
    ("THIS_MONTH(due)", date(2024, 2, 1), True), ("THIS_MONTH(due)", date(2024, 2, 29), True),
    ("THIS_MONTH(due)", date(2024, 3, 1), False), ("LAST_MONTH(due)", date(2024, 1, 31), True),
    ("LAST_MONTH(due)", date(2023, 12, 31), False), ("NEXT_MONTH(due)", date(2024, 3, 31), True),
    ("NEXT_MONTH(due)", date(2024, 4, 1), False),
    # quarters: first and last days
    ("THIS_QUARTER(due)", date(2024, 1, 1), True), ("THIS_QUARTER(due)", date(2024, 3, 31), True),
    ("THIS_QUARTER(due)", date(2023, 12, 31), False), ("THIS_QUARTER(due)", date(2024, 4, 1), False),
    ("LAST_QUARTER(due)", date(2023, 10, 1), True), ("LAST_QUARTER(due)", date(2023, 12, 31), True),
    ("LAST_QUARTER(due)", date(2023, 9, 30), False), ("NEXT_QUARTER(due)", date(2024, 4, 1), True),
    ("NEXT_QUARTER(due)", date(2024, 6, 30), True), ("NEXT_QUARTER(due)", date(2024, 7, 1), False),
    ("THIS_YEAR(due)", date(2024, 12, 31), True), ("THIS_YEAR(due)", date(2025, 1, 1), False),
    ("LAST_YEAR(due)", date(2023, 1, 1), True), ("NEXT_YEAR(due)", date(2025, 12, 31), True),
    # calendar fiscal years by default
    ("THIS_FISCAL_YEAR(due)", date(2024, 1, 1), True), ("THIS_FISCAL_QUARTER(due)", date(2024, 3, 31), True),
    ("THIS_FISCAL_QUARTER(due)", date(2024, 4, 1), False),
    # LAST_N_DAYS: today and the n days before; NEXT_N_DAYS: the n days after, not today
    ("LAST_N_DAYS(due, 3)", date(2024, 2, 26), True), ("LAST_N_DAYS(due, 3)", date(2024, 2, 29), True),
    ("LAST_N_DAYS(due, 3)", date(2024, 2, 25), False), ("LAST_N_DAYS(due, 3)", date(2024, 3, 1), False),
    ("LAST_N_DAYS(due, 0)", date(2024, 2, 29), True), ("LAST_N_DAYS(due, 0)", date(2024, 2, 28), False),
    ("NEXT_N_DAYS(due, 2)", date(2024, 2, 29), False), ("NEXT_N_DAYS(due, 2)", date(2024, 3, 1), True),
    ("NEXT_N_DAYS(due, 2)", date(2024, 3, 2), True), ("NEXT_N_DAYS(due, 2)", date(2024, 3, 3), False),
    ("NEXT_N_DAYS(due, 0)", date(2024, 3, 1), False),
    ("N_DAYS_AGO(due, 365)", date(2023, 3, 1), True), ("N_DAYS_AGO(due, 365)", date(2023, 2, 28), False),
    ("N_DAYS_AGO(due, 0)", date(2024, 2, 29), True),
    # LAST_N_MONTHS / NEXT_N_MONTHS: whole months before / after the current one
    ("LAST_N_MONTHS(due, 2)", date(2023, 12, 1), True), ("LAST_N_MONTHS(due, 2)", date(2024, 1, 31), True),
    ("LAST_N_MONTHS(due, 2)", date(2023, 11, 30), False), ("LAST_N_MONTHS(due, 2)", date(2024, 2, 1), False),
    ("NEXT_N_MONTHS(due, 1)", date(2024, 3, 1), True), ("NEXT_N_MONTHS(due, 1)", date(2024, 3, 31), True),
    ("NEXT_N_MONTHS(due, 1)", date(2024, 4, 1), False), ("NEXT_N_MONTHS(due, 1)", date(2024, 2, 29), False),
    ("NEXT_N_MONTHS(due, 0)", date(2024, 3, 1), False),
    # an expression, not only a field
    ("THIS_MONTH(ADD_DAYS(due, 1))", date(2024, 2, 28), True), ("THIS_MONTH(ADD_DAYS(due, 1))", date(2024, 2, 29), False),
]


@pytest.mark.parametrize("text, value, expected", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_each_period_at_its_boundaries(db, text, value, expected):
    check_everywhere(db, text, value, NOW, expected)


@pytest.mark.parametrize("value, expected", [
    (at(date(2024, 2, 28), 23, 59, 59, 999999), False),   # just before midnight yesterday → not today
    (at(date(2024, 2, 29), 0, 0, 0, 0), True),            # midnight UTC starts today
    (at(date(2024, 2, 29), 23, 59, 59, 999999), True),
    (at(date(2024, 3, 1), 0, 0, 0, 0), False),
    (datetime(2024, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), True),   # 22:30 UTC on the 29th
    (datetime(2024, 2, 28, 23, 30, tzinfo=timezone(timedelta(hours=-1))), True),  # 00:30 UTC on the 29th
])
def test_datetimes_count_by_their_utc_date(db, value, expected):
    check_everywhere(db, "IS_TODAY(seen)", value, NOW, expected)
    check_everywhere(db, "THIS_MONTH(seen)", value, NOW, expected or value.astimezone(UTC).month == 2)


@pytest.mark.parametrize("now, value, text, expected", [
    # fiscal year from April: FY2024 is 1 Apr 2023 - 31 Mar 2024 (named by the year it ends in)
    (NOW, date(2023, 4, 1), "THIS_FISCAL_YEAR(due)", True),
    (NOW, date(2024, 3, 31), "THIS_FISCAL_YEAR(due)", True),
    (NOW, date(2023, 3, 31), "THIS_FISCAL_YEAR(due)", False),
    (NOW, date(2024, 4, 1), "NEXT_FISCAL_YEAR(due)", True),
    (NOW, date(2023, 3, 31), "LAST_FISCAL_YEAR(due)", True),
    (NOW, date(2022, 3, 31), "LAST_FISCAL_YEAR(due)", False),
    # fiscal quarters from April: Q4 of FY2024 is January - March 2024
    (NOW, date(2024, 1, 1), "THIS_FISCAL_QUARTER(due)", True),
    (NOW, date(2023, 12, 31), "THIS_FISCAL_QUARTER(due)", False),
    (NOW, date(2023, 12, 31), "LAST_FISCAL_QUARTER(due)", True),
    (NOW, date(2024, 4, 1), "NEXT_FISCAL_QUARTER(due)", True),
    (NOW, date(2024, 7, 1), "NEXT_FISCAL_QUARTER(due)", False),
    # on the first day of a fiscal year
    (at(date(2024, 4, 1), 0), date(2024, 4, 1), "THIS_FISCAL_YEAR(due)", True),
    (at(date(2024, 4, 1), 0), date(2024, 3, 31), "LAST_FISCAL_YEAR(due)", True),
    (at(date(2024, 3, 31), 23, 59), date(2024, 4, 1), "NEXT_FISCAL_QUARTER(due)", True),
])
def test_a_fiscal_year_starting_in_april(db, now, value, text, expected):
    check_everywhere(db, text, value, now, expected, fiscal=4)


@pytest.mark.parametrize("value, text, expected", [
    # fiscal year from February, across the calendar year's end: today (29 Feb 2024) is in FY2025
    # (1 Feb 2024 - 31 Jan 2025); its quarters start in February, May, August and November
    (date(2024, 2, 1), "THIS_FISCAL_YEAR(due)", True),
    (date(2025, 1, 31), "THIS_FISCAL_YEAR(due)", True),
    (date(2024, 1, 31), "THIS_FISCAL_YEAR(due)", False),
    (date(2024, 1, 31), "LAST_FISCAL_YEAR(due)", True),
    (date(2023, 2, 1), "LAST_FISCAL_YEAR(due)", True),
    (date(2025, 2, 1), "NEXT_FISCAL_YEAR(due)", True),
    (date(2024, 4, 30), "THIS_FISCAL_QUARTER(due)", True),
    (date(2024, 5, 1), "NEXT_FISCAL_QUARTER(due)", True),
    (date(2024, 1, 31), "LAST_FISCAL_QUARTER(due)", True),
    (date(2023, 11, 1), "LAST_FISCAL_QUARTER(due)", True),
    (date(2023, 10, 31), "LAST_FISCAL_QUARTER(due)", False),
])
def test_a_fiscal_year_starting_in_february(db, value, text, expected):
    check_everywhere(db, text, value, NOW, expected, fiscal=2)


def test_fiscal_years_starting_in_january_and_in_december_on_new_year_s_day(db):
    new_year = at(date(2025, 1, 1), 0)
    check_everywhere(db, "LAST_FISCAL_QUARTER(due)", date(2024, 10, 1), new_year, True, fiscal=1)
    check_everywhere(db, "LAST_FISCAL_YEAR(due)", date(2024, 12, 31), new_year, True, fiscal=1)
    # from December: FY2025 is 1 Dec 2024 - 30 Nov 2025
    check_everywhere(db, "THIS_FISCAL_YEAR(due)", date(2024, 12, 1), new_year, True, fiscal=12)
    check_everywhere(db, "LAST_FISCAL_YEAR(due)", date(2024, 11, 30), new_year, True, fiscal=12)
    check_everywhere(db, "THIS_FISCAL_QUARTER(due)", date(2025, 2, 28), new_year, True, fiscal=12)
    check_everywhere(db, "NEXT_FISCAL_QUARTER(due)", date(2025, 3, 1), new_year, True, fiscal=12)


def test_blank_values_are_in_no_period_and_not_blank(db):
    for text in ("THIS_MONTH(due)", "not THIS_MONTH(due)", "LAST_N_DAYS(due, 10)", "THIS_MONTH(None)",
                 "THIS_YEAR(DATEVALUE(seen))", "not NEXT_FISCAL_YEAR(ADD_DAYS(seen, 1))"):
        expected = text.startswith("not")     # false, so `not` gives true: the same in every target
        expression = compiled(text)
        assert expression.evaluate({}, now=NOW) is expected
        assert db.where(expression, [{}], now=NOW) == ([0] if expected else [])


def test_bounds_are_parameters_so_a_stored_field_can_use_its_index():
    for text, field in (("THIS_QUARTER(due)", "due"), ("LAST_N_DAYS(seen, 30)", "seen")):
        expression = compiled(text)
        column_for = _columns()
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            sql = expression.to_sql(column_for, dialect_name=dialect.name, now=NOW).compile(dialect=dialect)
            where = str(sql)
            assert f"{field} >= " in where and f"{field} < " in where, where
            assert "2024" not in where and len(sql.params) == 2, (where, sql.params)


def test_the_clock_is_the_now_given():
    expression = compiled("IS_TODAY(due)")
    assert expression.evaluate({("due",): date(2030, 5, 6)}, now=at(date(2030, 5, 6), 1))
    assert not expression.evaluate({("due",): date(2030, 5, 6)}, now=at(date(2030, 5, 5), 23))
    assert expression.evaluate({("due",): datetime.now(UTC).date()})      # no now: the real clock


@pytest.mark.parametrize("text, fragment", [
    ("THIS_MONTH()", "function THIS_MONTH takes 1 argument (e.g. THIS_MONTH(close_date)), got 0"),
    ("THIS_MONTH(due, 3)", "function THIS_MONTH takes 1 argument"),
    ("LAST_N_DAYS(due)", "function LAST_N_DAYS takes 2 arguments (e.g. LAST_N_DAYS(close_date, 30)), got 1"),
    ("THIS_QUARTER(name)", "function THIS_QUARTER: argument 1 must be a date or datetime, got text"),
    ("THIS_QUARTER(qty)", "argument 1 must be a date or datetime, got integer"),
    ("IS_TODAY(at)", "argument 1 must be a date or datetime, got time"),
    ("LAST_N_DAYS(due, -1)", "function LAST_N_DAYS: argument 2 (the number of days) must not be negative, got -1"),
    ("NEXT_N_MONTHS(due, -2)", "argument 2 (the number of months) must not be negative"),
    ("LAST_N_DAYS(due, qty)", "argument 2 (the number of days) must be a whole-number literal"),
    ("LAST_N_DAYS(due, 1.5)", "must be a whole-number literal"),
    ("N_DAYS_AGO(due, '3')", "must be a whole-number literal"),
    ("LAST_N_DAYS(due, None)", "must be a whole-number literal"),
    ("THIS_MONTH(due) + 1", "'+' cannot be applied to"),
    ("this_month", "unknown field 'this_month' (THIS_MONTH is a function: write THIS_MONTH(...))"),
])
def test_bad_calls_are_refused_clearly(text, fragment):
    with pytest.raises(ExprError) as info:
        compile_expression(text, resolve_type)
    assert fragment in str(info.value)


def test_function_names_are_case_insensitive_like_the_rest():
    assert compile_expression("this_month(due)", resolve_type).evaluate({("due",): NOW.date()}, now=NOW) is True


# -- property: SQL agrees with Python, and both with an independent reading of each period -------

def _month(day: date) -> int:
    return day.year * 12 + day.month - 1


def _fiscal_year(day: date, start: int) -> int:
    """The fiscal year's name: the calendar year in which it ends."""
    return day.year + (1 if start > 1 and day.month >= start else 0)


def _label(unit: str, day: date, start: int) -> int:
    """Consecutive period numbers: this period is label(today), the next one label(today) + 1."""
    return {"DAY": day.toordinal(),
            "WEEK": (day.toordinal() - day.weekday()) // 7,
            "MONTH": _month(day),
            "QUARTER": _month(day) // 3,
            "YEAR": day.year,
            "FISCAL_QUARTER": (_month(day) - (start - 1)) // 3,
            "FISCAL_YEAR": _fiscal_year(day, start)}[unit]


_SHIFT = {"LAST": -1, "THIS": 0, "NEXT": 1}


def expected_of(name: str, n: int, day: date, today: date, start: int) -> bool:
    if name in ("YESTERDAY", "IS_TODAY", "TOMORROW"):
        return (day - today).days == {"YESTERDAY": -1, "IS_TODAY": 0, "TOMORROW": 1}[name]
    if name == "LAST_N_DAYS":
        return 0 <= (today - day).days <= n
    if name == "NEXT_N_DAYS":
        return 1 <= (day - today).days <= n
    if name == "N_DAYS_AGO":
        return (today - day).days == n
    if name == "LAST_N_MONTHS":
        return 1 <= _month(today) - _month(day) <= n
    if name == "NEXT_N_MONTHS":
        return 1 <= _month(day) - _month(today) <= n
    shift, unit = name.split("_", 1)
    return _label(unit, day, start) - _label(unit, today, start) == _SHIFT[shift]


NAMES = ["YESTERDAY", "IS_TODAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_MONTHS",
         "NEXT_N_MONTHS"] + [f"{s}_{u}" for s in _SHIFT for u in ("WEEK", "MONTH", "QUARTER", "YEAR",
                                                                  "FISCAL_QUARTER", "FISCAL_YEAR")]
TAKES_N = {"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_MONTHS", "NEXT_N_MONTHS"}

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31),
                       timezones=st.just(UTC))


@st.composite
def near(draw):
    """A `now` and records whose dates and datetimes lie around it (most within a couple of years)."""
    now = draw(moments)
    today = now.date()
    offsets = st.one_of(st.integers(-40, 40), st.integers(-800, 800))
    rows = []
    for _ in range(draw(st.integers(3, 8))):
        row = {}
        if draw(st.booleans()):
            row[("due",)] = today + timedelta(days=draw(offsets))
        if draw(st.booleans()):
            row[("seen",)] = now + timedelta(days=draw(offsets), seconds=draw(st.integers(-86400, 86400)),
                                             microseconds=draw(st.integers(0, 999999)))
        rows.append(row)
    return now, rows


@settings(max_examples=int(os.environ.get("TESSERA_EXPR_EXAMPLES", "150")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=near(), names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=6),
       n=st.one_of(st.integers(0, 3), st.integers(0, 400)), start=st.integers(1, 12))
def test_sql_and_python_agree_with_each_period_read_independently(db, data, names, n, start):
    now, rows = data
    texts = [f"{name}({field}{', ' + str(n) if name in TAKES_N else ''})"
             for name in names for field in ("due", "seen")]
    expressions = [compiled(text, start) for text in texts]
    sql_rows = db.run_many(expressions, rows, now=now)
    for row, sql_values in zip(rows, sql_rows):
        for text, expression, sql_value in zip(texts, expressions, sql_values):
            field = ("due",) if "(due" in text else ("seen",)
            value = row.get(field)
            if value is None:
                expected = False
            else:
                day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
                expected = expected_of(text.split("(")[0], n, day, now.date(), start)
            assert expression.evaluate(row, now=now) is expected, (text, value, now, start)
            assert bool(sql_value) is expected, (text, value, now, start, db.dialect_name)


def test_periods_past_the_end_of_the_calendar_are_cut_not_errors(db):
    end = at(date(9999, 12, 31), 1)
    check_everywhere(db, "THIS_YEAR(due)", date(9999, 12, 31), end, True)
    check_everywhere(db, "NEXT_N_DAYS(due, 100)", date(9999, 12, 31), end, False)
    check_everywhere(db, "NEXT_YEAR(due)", date(9999, 12, 31), end, False)
    start = at(date(1, 1, 1), 1)
    check_everywhere(db, "LAST_N_DAYS(due, 1000)", date(1, 1, 1), start, True)
    check_everywhere(db, "LAST_MONTH(due)", date(1, 1, 1), start, False)


def _columns():
    from sqlalchemy import Date, DateTime, column
    types = {"date": Date(), "datetime": DateTime(timezone=True)}
    return lambda path: column(FIELDS[tuple(path)][0], types.get(FIELDS[tuple(path)][1]))
