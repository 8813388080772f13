"""What differs between SQLite and PostgreSQL when compiling the language to SQL.

to_sql.py walks the tree; for every operation whose SQL is not the same on both databases it asks
the dialect here. Each method returns a SQLAlchemy construct built from bound parameters and the
given expressions only (no user text ever becomes SQL text). The two classes implement the same
semantics (see the package docstring), which the property-based tests check against Python.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal

from sqlalchemy import (BigInteger, Date, DateTime, Float, Integer, Numeric, Text, and_, case, cast, extract, func, literal,
                        not_, null, or_, type_coerce)
from sqlalchemy.sql.elements import ColumnElement

from . import types as t
from .errors import ExprError
from .semantics import (DIVISION_SCALE, INT64_MAX, INT64_MIN, NUMBER_TOLERANCE_ABSOLUTE, NUMBER_TOLERANCE_RELATIVE,
                        TEXT_MAX_PLACES, TEXT_SIGNIFICANT_DIGITS, VALUE_PATTERN_SQL)

# ADD_DAYS clamps its day count to this before any SQL integer arithmetic, so a huge count gives a
# blank (out of range) result rather than an integer-overflow error. 3,660,000 days > 10,000 years.
_MAX_DAYS = 3_660_000
_LAST_DAY_NUMBER = (date(9999, 12, 31) - date(1, 1, 1)).days  # days from 0001-01-01 to 9999-12-31


def _int(value: int) -> ColumnElement:
    return literal(value, Integer())


def _text(value: str) -> ColumnElement:
    return literal(value, Text())


def _substr(x, start: int, length: int | None = None) -> ColumnElement:
    args = (x, _int(start)) if length is None else (x, _int(start), _int(length))
    return func.substr(*args, type_=Text())


def compare(op: str, a, b) -> ColumnElement:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def near_compare(op: str, a, b, tolerance) -> ColumnElement:
    if op == "==":
        return func.abs(a - b) <= tolerance
    if op == "!=":
        return func.abs(a - b) > tolerance
    if op == "<":
        return (b - a) > tolerance
    if op == "<=":
        return (a - b) <= tolerance
    if op == ">":
        return (a - b) > tolerance
    return (b - a) <= tolerance


def _any_blank(args) -> ColumnElement:
    return or_(*(arg.is_(None) for arg in args))


class Dialect:
    name: str

    def negate(self, x, kind: str) -> ColumnElement:
        return -x

    def abs(self, x, kind: str) -> ColumnElement:
        return func.abs(x)

    def compare(self, op: str, a, b, operand_type: str) -> ColumnElement:
        """a op b for operands of `operand_type`."""
        return compare(op, a, b)

    def near_compare(self, op: str, a, b) -> ColumnElement:
        """a op b for numbers, treating values within the tolerance as equal (semantics.py)."""
        tolerance = self._number(NUMBER_TOLERANCE_ABSOLUTE) \
            + self._number(NUMBER_TOLERANCE_RELATIVE) * func.greatest(func.abs(a), func.abs(b))
        return near_compare(op, a, b, tolerance)

    def _number(self, text: str) -> ColumnElement:
        return literal(Decimal(text), Numeric())

    def concat(self, a, b) -> ColumnElement:
        return type_coerce(func.coalesce(a, _text("")), Text()) + type_coerce(func.coalesce(b, _text("")), Text())

    def integer_result(self, x, may_overflow: bool) -> ColumnElement:
        """An integer-typed result as selected: integer arithmetic beyond 64 bits is blank."""
        if not may_overflow:
            return x
        return case((x.between(literal(INT64_MIN, BigInteger()), literal(INT64_MAX, BigInteger())),
                     cast(x, BigInteger())))


class Postgres(Dialect):
    name = "postgresql"

    def arith(self, op: str, a, b, kind: str) -> ColumnElement:
        if op == "/":
            # numeric division keeps only ~16 significant digits for large quotients: widen the
            # dividend's scale first so rounding to DIVISION_SCALE sees enough digits.
            widened = cast(a, Numeric()) * literal(Decimal("1." + "0" * 20), Numeric())
            return func.round(widened / func.nullif(cast(b, Numeric()), 0), _int(DIVISION_SCALE))
        if kind == t.INTEGER:
            # Integer arithmetic runs in numeric so an intermediate beyond bigint is not a query
            # error; integer_result() casts the final value back (blank when out of range).
            a, b = cast(a, Numeric()), cast(b, Numeric())
        return {"+": a + b, "-": a - b, "*": a * b}[op]

    def negate(self, x, kind: str) -> ColumnElement:
        return -(cast(x, Numeric()) if kind == t.INTEGER else x)  # -(-2^63) is no bigint

    def abs(self, x, kind: str) -> ColumnElement:
        return func.abs(cast(x, Numeric()) if kind == t.INTEGER else x)

    def integer_result(self, x, may_overflow: bool) -> ColumnElement:
        if not may_overflow:
            return cast(x, BigInteger())
        return super().integer_result(x, True)

    def compare(self, op, a, b, operand_type):
        if operand_type == t.TEXT and op not in ("==", "!="):
            # The database's collation may sort linguistically; "C" sorts by code point, as Python does.
            a, b = a.collate("C"), b.collate("C")
        return compare(op, a, b)

    # -- dates -------------------------------------------------------------------------------------
    def _utc(self, x):
        return func.timezone(_text("UTC"), x)

    def day_start(self, day: date, kind: str) -> ColumnElement:
        """A bound for comparing a date or datetime of `kind` with the start of `day` (UTC midnight)."""
        if kind == t.DATE:
            return literal(day, Date())
        return literal(datetime.combine(day, time(0), timezone.utc), DateTime(timezone=True))

    def datevalue(self, x, kind: str) -> ColumnElement:
        return x if kind == t.DATE else cast(self._utc(x), Date())

    def date_part(self, part: str, x, kind: str) -> ColumnElement:
        source = x if kind == t.DATE else self._utc(x)
        return cast(extract(part, source), BigInteger())

    def make_date(self, year, month, day) -> ColumnElement:
        # make_date() raises on invalid input, so clamp into range, build, then check it round-trips.
        def clamp(x, low, high):
            return cast(func.least(func.greatest(x, _int(low)), _int(high)), Integer())
        base = type_coerce(func.make_date(clamp(year, 1, 9999), clamp(month, 1, 12), _int(1)), Date()) \
            + (clamp(day, 1, 31) - _int(1))
        valid = and_(year.between(1, 9999), month.between(1, 12), day.between(1, 31),
                     extract("month", base) == month)
        return case((valid, base))

    def add_days(self, x, days, kind: str) -> ColumnElement:
        # Date arithmetic past PostgreSQL's own range (and CAST of a huge count to integer) raises
        # an error, and PostgreSQL may fold constant parts of a CASE branch even when the branch is
        # not taken. So: decide validity with numeric day numbers (which cannot fail), and inside
        # the branch use a count clamped to a range that cannot fail either.
        day = x if kind == t.DATE else cast(self._utc(x), Date())
        day_number = cast(day - literal(date(1, 1, 1), Date()), Numeric()) + days
        valid = day_number.between(_int(0), _int(_LAST_DAY_NUMBER))
        clamped = cast(func.least(func.greatest(days, _int(-_MAX_DAYS)), _int(_MAX_DAYS)), Integer())
        if kind == t.DATE:
            shifted = type_coerce(x + clamped, Date())
        else:
            # Shift the UTC wall-clock time so the session time zone's DST never moves the hour.
            shifted = self._utc(self._utc(x) + func.make_interval(_int(0), _int(0), _int(0), clamped))
        return case((valid, shifted))

    def days_between(self, first_date, second_date) -> ColumnElement:
        return cast(second_date - first_date, BigInteger())

    # -- text --------------------------------------------------------------------------------------
    def length(self, x):
        return func.char_length(x)

    def lower(self, x):
        # Under the "C" collation PostgreSQL maps only A-Z/a-z, as SQLite does (see docstring).
        return func.lower(x.collate("C"))

    def upper(self, x):
        return func.upper(x.collate("C"))

    def contains(self, text, part):
        return func.strpos(text, part) > 0

    def begins(self, text, start):
        return func.left(text, func.char_length(start)) == start

    def least(self, args, kind: str, greatest: bool = False):
        if kind == t.TEXT:
            args = [arg.collate("C") for arg in args]
        # LEAST/GREATEST skip NULLs; the language propagates them like every other function.
        chosen = (func.greatest if greatest else func.least)(*args)
        return case((_any_blank(args), null()), else_=chosen)

    # -- numbers -----------------------------------------------------------------------------------
    def round(self, x, digits: int, kind: str):
        if kind == t.INTEGER and digits >= 0:
            return x
        # round(numeric, n) rounds half away from zero and accepts negative n.
        return func.round(cast(x, Numeric()), _int(digits))

    def number_text(self, x):
        x = cast(x, Numeric())
        integer_digits = func.char_length(cast(func.trunc(func.abs(x)), Text()))
        places = func.least(_int(TEXT_MAX_PLACES),
                            func.greatest(_int(0), _int(TEXT_SIGNIFICANT_DIGITS) - integer_digits))
        rounded = func.round(x, places)
        return case((rounded == 0, _text("0")), else_=cast(func.trim_scale(rounded), Text()))

    def value(self, x):
        trimmed = func.btrim(x, type_=Text())
        return case((trimmed.op("~", is_comparison=True)(_text(VALUE_PATTERN_SQL)), cast(trimmed, Numeric())))

    def text(self, x, kind: str):
        if kind in (t.INTEGER, t.ID):
            return cast(x, Text())
        if kind == t.DATE:
            return func.to_char(x, _text("YYYY-MM-DD"))
        if kind == t.DATETIME:
            return func.to_char(self._utc(x), _text('YYYY-MM-DD"T"HH24:MI:SS"Z"'))
        if kind == t.TIME:
            return func.to_char(x, _text("HH24:MI:SS"))
        raise AssertionError(kind)


class Sqlite(Dialect):
    name = "sqlite"

    def arith(self, op: str, a, b, kind: str) -> ColumnElement:
        if op == "/":
            # CAST: SQLite divides two integers as integers.
            quotient = cast(a, Float()) / func.nullif(b, 0)
            return func.round(quotient, _int(DIVISION_SCALE))
        return {"+": a + b, "-": a - b, "*": a * b}[op]

    def near_compare(self, op: str, a, b) -> ColumnElement:
        # SQLite's scalar max() is GREATEST (NULL if an argument is NULL, which is what we want).
        tolerance = self._number(NUMBER_TOLERANCE_ABSOLUTE) \
            + self._number(NUMBER_TOLERANCE_RELATIVE) * func.max(func.abs(a), func.abs(b))
        return near_compare(op, a, b, tolerance)

    def _number(self, text: str) -> ColumnElement:
        return literal(float(text), Float())

    # -- dates: stored as ISO text ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS.ffffff', UTC) ---------------
    def datevalue(self, x, kind: str) -> ColumnElement:
        return x if kind == t.DATE else _substr(x, 1, 10)

    def day_start(self, day: date, kind: str) -> ColumnElement:
        # 'YYYY-MM-DD' sorts before the text of every date and datetime of that day and after every
        # earlier one, whatever the time's format ('...00:00:00' or '...00:00:00.000000')
        return literal(day.isoformat(), Text())

    _PARTS = {"year": (1, 4), "month": (6, 2), "day": (9, 2)}

    def date_part(self, part: str, x, kind: str) -> ColumnElement:
        start, length = self._PARTS[part]
        return cast(_substr(x, start, length), Integer())

    def make_date(self, year, month, day) -> ColumnElement:
        def clamp(x, low, high):
            return func.max(func.min(x, _int(high)), _int(low))
        first = func.printf(_text("%04d-%02d-01"), clamp(year, 1, 9999), clamp(month, 1, 12))
        base = func.date(first, func.printf(_text("%+d days"), clamp(day, 1, 31) - _int(1)), type_=Text())
        valid = and_(year.between(1, 9999), month.between(1, 12), day.between(1, 31),
                     cast(_substr(base, 6, 2), Integer()) == month)
        return case((valid, base))

    def _in_range(self, day):
        return day.between(_text("0001-01-01"), _text("9999-12-31"))

    def add_days(self, x, days, kind: str) -> ColumnElement:
        # date() of a Julian day number: exact for whole days, and NULL when far out of range.
        day = func.date(func.julianday(_substr(x, 1, 10)) + days, type_=Text())
        if kind == t.DATE:
            return case((self._in_range(day), day))
        return case((self._in_range(day), day + _substr(x, 11)))  # keep the time of day verbatim

    def days_between(self, first_date, second_date) -> ColumnElement:
        return cast(func.julianday(second_date) - func.julianday(first_date), Integer())

    # -- text --------------------------------------------------------------------------------------
    def length(self, x):
        return func.length(x)

    def lower(self, x):
        return func.lower(x)

    def upper(self, x):
        return func.upper(x)

    def contains(self, text, part):
        # Not LIKE: SQLite's LIKE ignores case and gives % and _ meaning.
        return func.instr(text, part) > 0

    def begins(self, text, start):
        return func.substr(text, 1, func.length(start)) == start

    def least(self, args, kind: str, greatest: bool = False):
        # SQLite's scalar min()/max() return NULL if any argument is NULL, as the language does.
        return (func.max if greatest else func.min)(*args)

    # -- numbers -----------------------------------------------------------------------------------
    def round(self, x, digits: int, kind: str):
        if digits >= 0:
            # SQLite's round() works on the decimal rendering of the float, half away from zero.
            return x if kind == t.INTEGER else func.round(x, _int(digits))
        # round() treats negative digits as 0: scale down, round, scale back up.
        factor = 10 ** -digits
        rounded = func.round(x / literal(float(factor), Float())) * _int(factor)
        return cast(rounded, Integer()) if kind == t.INTEGER else rounded

    def number_text(self, x):
        integer_digits = func.length(cast(cast(func.abs(x), Integer()), Text()))
        places = func.min(_int(TEXT_MAX_PLACES),
                          func.max(_int(0), _int(TEXT_SIGNIFICANT_DIGITS) - integer_digits))
        written = func.printf(_text("%.*f"), places, x, type_=Text())
        trimmed = func.rtrim(func.rtrim(written, _text("0")), _text("."), type_=Text())
        return case((x.is_(None), null()),  # printf() would write NULL as 0
                    (cast(written, Float()) == 0, _text("0")),
                    (func.instr(written, _text(".")) > 0, trimmed),
                    else_=written)

    def value(self, x):
        trimmed = func.trim(x, type_=Text())
        unsigned = case((_substr(trimmed, 1, 1).in_([_text("+"), _text("-")]), _substr(trimmed, 2)),
                        else_=trimmed)
        # No regular expressions in SQLite: GLOB (case-sensitive, anchored) checks the same shape.
        valid = and_(unsigned.op("GLOB", is_comparison=True)(_text("*[0-9]*")),
                     not_(unsigned.op("GLOB", is_comparison=True)(_text("*[^0-9.]*"))),
                     not_(unsigned.op("GLOB", is_comparison=True)(_text("*.*.*"))))
        return case((valid, cast(trimmed, Float())))

    def text(self, x, kind: str):
        if kind == t.INTEGER:
            return cast(x, Text())
        if kind == t.ID:
            # Uuid columns hold 32 hex digits on SQLite; ids read as canonical 8-4-4-4-12 text.
            hyphenated = func.lower(_substr(x, 1, 8) + "-" + _substr(x, 9, 4) + "-" + _substr(x, 13, 4)
                                    + "-" + _substr(x, 17, 4) + "-" + _substr(x, 21), type_=Text())
            return case((func.length(x) == 32, hyphenated), else_=func.lower(x))
        if kind == t.DATE:
            return cast(x, Text())
        if kind == t.DATETIME:
            return _substr(x, 1, 10) + "T" + _substr(x, 12, 8) + "Z"
        if kind == t.TIME:
            return _substr(x, 1, 8)
        raise AssertionError(kind)


DIALECTS = {"postgresql": Postgres(), "sqlite": Sqlite()}


def dialect_for(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ExprError(f"expressions cannot be compiled for the database {name!r}") from None
