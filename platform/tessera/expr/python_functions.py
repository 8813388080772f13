"""The function library's Python implementations (those that take values; IF, ISBLANK,
BLANKVALUE, TODAY, NOW and TEXT, which need the unevaluated arguments or the clock, are in
to_python.py). Each entry is a factory: given the checked Call node, it returns the function."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable

from . import types as t
from .geo import PYTHON_FUNCTIONS as GEO_PYTHON_FUNCTIONS
from .nodes import Call
from .python_values import id_key, round_half_up, to_date, to_datetime
from .semantics import TEXT_MAX_PLACES, TEXT_SIGNIFICANT_DIGITS, VALUE_PATTERN


def _make_date(year, month, day):
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None  # DATE(2023, 2, 30) is blank, not an error


def _add_days(value, days):
    try:
        return value + timedelta(days=days)
    except OverflowError:
        return None  # beyond year 1 … 9999


def _days_between(first, second):
    return (to_date(second) - to_date(first)).days


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _round_function(node):
    digits = node.args[1].value if len(node.args) > 1 else 0
    if node.type == t.INTEGER:
        if digits >= 0:
            return lambda value, *_: value
        return lambda value, *_: int(round_half_up(Decimal(value), digits))
    return lambda value, *_: round_half_up(Decimal(value), digits)


def _value(text):
    text = text.strip(" ")
    return Decimal(text) if VALUE_PATTERN.fullmatch(text) else None


FUNCTIONS: dict[str, Callable[[Call], Callable]] = {
    "DATE": lambda node: _make_date,
    "DATEVALUE": lambda node: to_date,
    "YEAR": lambda node: lambda value: to_date(value).year,
    "MONTH": lambda node: lambda value: to_date(value).month,
    "DAY": lambda node: lambda value: to_date(value).day,
    "ADD_DAYS": lambda node: _add_days,
    "DAYS_BETWEEN": lambda node: _days_between,
    "LEN": lambda node: len,
    "LOWER": lambda node: lambda text: text.translate(_ASCII_LOWER),
    "UPPER": lambda node: lambda text: text.translate(_ASCII_UPPER),
    "CONTAINS": lambda node: lambda text, part: part in text,
    "BEGINS": lambda node: lambda text, start: text.startswith(start),
    "ROUND": _round_function,
    "ABS": lambda node: abs,
    "MIN": lambda node: lambda *values: min(values),
    "MAX": lambda node: lambda *values: max(values),
    "VALUE": lambda node: _value,
    **GEO_PYTHON_FUNCTIONS,
}


# -- TEXT() ----------------------------------------------------------------------------------------

def number_text(value) -> str:
    """A number as TEXT() writes it: plain notation, rounded half away from zero to
    TEXT_SIGNIFICANT_DIGITS significant digits but at most TEXT_MAX_PLACES decimals, no trailing zeros."""
    value = Decimal(value)
    integer_digits = len(str(int(abs(value))))
    places = min(TEXT_MAX_PLACES, max(0, TEXT_SIGNIFICANT_DIGITS - integer_digits))
    rounded = round_half_up(value, places)
    if rounded == 0:
        return "0"
    text = format(rounded, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _datetime_text(value: datetime) -> str:
    value = to_datetime(value)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z")


def _time_text(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"


TEXT_FORMATS: dict[str, Callable[[Any], str]] = {
    t.TEXT: lambda value: value,
    t.ID: id_key,
    t.INTEGER: lambda value: str(int(value)),
    t.NUMBER: number_text,
    t.BOOLEAN: lambda value: "true" if value else "false",
    t.DATE: lambda value: to_date(value).isoformat(),
    t.DATETIME: _datetime_text,
    t.TIME: _time_text,
    t.NULL: lambda value: None,
}
