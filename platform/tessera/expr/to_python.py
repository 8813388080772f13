"""Typed tree → Python closure.

Each node becomes a function of an `Env` (the record's values, the prior values, the clock), built
once at compile time; evaluation is then plain function calls, with no interpretation of the tree.
Numbers are Decimals throughout so that Python agrees with PostgreSQL's numeric arithmetic.
"""
from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal
from typing import Any, Callable, Mapping

from . import types as t
from .nodes import (Arith, Call, Changed, Compare, Concat, Field, InList, IsBlank, Literal, Logic, Negate, Node,
                    Not, Prior)
from .semantics import DIVISION_SCALE, TEXT_MAX_PLACES, TEXT_SIGNIFICANT_DIGITS, VALUE_PATTERN

Evaluator = Callable[["Env"], Any]


@dataclass(frozen=True, slots=True)
class Env:
    values: Mapping
    prior: Mapping | None
    now: datetime  # aware, UTC
    today: date    # now's UTC date


def compile_python(node: Node) -> Evaluator:
    return _COMPILERS[type(node)](node)


# -- value normalization ---------------------------------------------------------------------------

def _to_number(value):
    if isinstance(value, float):
        return Decimal(repr(value))  # the decimal the float was written as, not its binary expansion
    return value


def _to_integer(value):
    if isinstance(value, Decimal):
        return int(value)
    return value


def _to_datetime(value):
    if isinstance(value, datetime):
        # Naive datetimes are UTC (SQLite hands them back naive); aware ones are moved to UTC.
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value


def _to_date(value):
    if isinstance(value, datetime):
        return _to_datetime(value).date()
    return value


_NORMALIZE = {t.NUMBER: _to_number, t.INTEGER: _to_integer, t.DATETIME: _to_datetime, t.DATE: _to_date}


def normalizer(kind: str) -> Callable[[Any], Any]:
    convert = _NORMALIZE.get(kind)
    if convert is None:
        return lambda value: value
    return lambda value: None if value is None else convert(value)


def id_key(value):
    """Ids compare as canonical UUID text, whether given as UUID objects or strings."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return value
    return value


def is_blank(value, kind: str) -> bool:
    return value is None or (kind == t.TEXT and value == "")


# -- leaves ----------------------------------------------------------------------------------------

def _literal(node: Literal) -> Evaluator:
    value = node.value
    return lambda env: value


def _field(node: Field) -> Evaluator:
    path, convert = node.path, normalizer(node.type)
    return lambda env: convert(env.values.get(path))


def _prior(node: Prior) -> Evaluator:
    path, convert = node.path, normalizer(node.type)
    return lambda env: None if env.prior is None else convert(env.prior.get(path))


def _changed(node: Changed) -> Evaluator:
    # A record being created has no prior values: nothing has "changed" yet.
    path = node.path

    def changed(env):
        if env.prior is None:
            return False
        return _comparable_value(env.values.get(path)) != _comparable_value(env.prior.get(path))
    return changed


def _comparable_value(value):
    if value is None or value == "":
        return None  # blank is blank, however it was written
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime):
        return _to_datetime(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# -- operators -------------------------------------------------------------------------------------

def _divide(a, b):
    if b == 0:
        return None  # division by zero is blank, as NULLIF makes it in SQL
    return _round_half_up(Decimal(a) / Decimal(b), DIVISION_SCALE)


def _round_half_up(value: Decimal, places: int) -> Decimal:
    rounded = value.quantize(_QUANTUM[places], rounding=ROUND_HALF_UP, context=_WIDE)
    if not rounded:
        rounded = abs(rounded)  # no "-0"
    # ROUND(1234, -2) is 1200, not Decimal('1.2E+3'): same value, but plain to read.
    return rounded.quantize(_QUANTUM[0], context=_WIDE) if places < 0 else rounded


# Rounding to a number of places needs as many digits as the value has; never fail for lack of them.
_WIDE = Context(prec=2000, Emax=MAX_EMAX, Emin=MIN_EMIN)
_QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(-20, 21)}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": _divide}


def _arith(node: Arith) -> Evaluator:
    left, right, apply = compile_python(node.left), compile_python(node.right), _ARITHMETIC[node.op]

    def arith(env):
        a = left(env)
        if a is None:
            return None
        b = right(env)
        return None if b is None else apply(a, b)
    return arith


def _negate(node: Negate) -> Evaluator:
    operand = compile_python(node.operand)

    def negate(env):
        value = operand(env)
        return None if value is None else -value
    return negate


def _concat(node: Concat) -> Evaluator:
    left, right = compile_python(node.left), compile_python(node.right)
    return lambda env: (left(env) or "") + (right(env) or "")


_COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                ">": operator.gt, ">=": operator.ge}


def _compare(node: Compare) -> Evaluator:
    left, right, apply = compile_python(node.left), compile_python(node.right), _COMPARISONS[node.op]
    key = id_key if node.operand_type == t.ID else (lambda value: value)

    def compare(env):
        a = left(env)
        if a is None:
            return None
        b = right(env)
        return None if b is None else apply(key(a), key(b))
    return compare


def _is_blank(node: IsBlank) -> Evaluator:
    operand, kind = compile_python(node.operand), node.operand.type
    return lambda env: is_blank(operand(env), kind)


def _in_list(node: InList) -> Evaluator:
    # x IN (a, b) is (x = a) OR (x = b) under three-valued logic, exactly as in SQL.
    operand = compile_python(node.operand)
    items = [compile_python(item) for item in node.items]
    key = id_key if node.operand_type == t.ID else (lambda value: value)

    def in_list(env):
        value = operand(env)
        if value is None:
            return None
        value = key(value)
        unknown = False
        for item in items:
            candidate = item(env)
            if candidate is None:
                unknown = True
            elif key(candidate) == value:
                return True
        return None if unknown else False
    return in_list


def _not(node: Not) -> Evaluator:
    operand = compile_python(node.operand)

    def negation(env):
        value = operand(env)
        return None if value is None else not value
    return negation


def _logic(node: Logic) -> Evaluator:
    operands = [compile_python(o) for o in node.operands]
    decisive = node.op == "or"  # the value that settles the result: True for or, False for and

    def logic(env):
        unknown = False
        for operand in operands:
            value = operand(env)
            if value is None:
                unknown = True
            elif value is decisive:
                return decisive
        return None if unknown else not decisive
    return logic


# -- functions -------------------------------------------------------------------------------------

def _call(node: Call) -> Evaluator:
    args = [compile_python(arg) for arg in node.args]
    special = _LAZY.get(node.name)
    if special is not None:
        return special(node, args)
    function = _FUNCTIONS[node.name](node)

    def call(env):
        values = [arg(env) for arg in args]
        if any(value is None for value in values):
            return None  # blank in, blank out (functions that handle blanks are in _LAZY)
        return function(*values)
    return call


def _if(node, args):
    condition, then, otherwise = args
    return lambda env: then(env) if condition(env) is True else otherwise(env)


def _isblank(node, args):
    operand, kind = args[0], node.args[0].type
    return lambda env: is_blank(operand(env), kind)


def _blankvalue(node, args):
    value_of, fallback = args
    kind = node.args[0].type

    def blankvalue(env):
        value = value_of(env)
        return fallback(env) if is_blank(value, kind) else value
    return blankvalue


def _today(node, args):
    return lambda env: env.today


def _now(node, args):
    return lambda env: env.now


def _text_of(node, args):
    operand, kind = args[0], node.args[0].type
    format_value = _TEXT_FORMATS[kind]

    def text(env):
        value = operand(env)
        return None if value is None else format_value(value)
    return text


_LAZY = {"IF": _if, "ISBLANK": _isblank, "BLANKVALUE": _blankvalue, "TODAY": _today, "NOW": _now,
         "TEXT": _text_of}


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
    return (_to_date(second) - _to_date(first)).days


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _round_function(node):
    digits = node.args[1].value if len(node.args) > 1 else 0
    if node.type == t.INTEGER:
        if digits >= 0:
            return lambda value, *_: value
        return lambda value, *_: int(_round_half_up(Decimal(value), digits))
    return lambda value, *_: _round_half_up(Decimal(value), digits)


def _value(text):
    text = text.strip(" ")
    return Decimal(text) if VALUE_PATTERN.fullmatch(text) else None


_FUNCTIONS: dict[str, Callable[[Call], Callable]] = {
    "DATE": lambda node: _make_date,
    "DATEVALUE": lambda node: _to_date,
    "YEAR": lambda node: lambda value: _to_date(value).year,
    "MONTH": lambda node: lambda value: _to_date(value).month,
    "DAY": lambda node: lambda value: _to_date(value).day,
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
}


# -- TEXT() ----------------------------------------------------------------------------------------

def number_text(value) -> str:
    """A number as TEXT() writes it: plain notation, rounded half away from zero to
    TEXT_SIGNIFICANT_DIGITS significant digits but at most TEXT_MAX_PLACES decimals, no trailing zeros."""
    value = Decimal(value)
    integer_digits = len(str(int(abs(value))))
    places = min(TEXT_MAX_PLACES, max(0, TEXT_SIGNIFICANT_DIGITS - integer_digits))
    rounded = _round_half_up(value, places)
    if rounded == 0:
        return "0"
    text = format(rounded, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _datetime_text(value: datetime) -> str:
    value = _to_datetime(value)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z")


def _time_text(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"


_TEXT_FORMATS: dict[str, Callable[[Any], str]] = {
    t.TEXT: lambda value: value,
    t.ID: id_key,
    t.INTEGER: lambda value: str(int(value)),
    t.NUMBER: number_text,
    t.BOOLEAN: lambda value: "true" if value else "false",
    t.DATE: lambda value: _to_date(value).isoformat(),
    t.DATETIME: _datetime_text,
    t.TIME: _time_text,
    t.NULL: lambda value: None,
}

_COMPILERS: dict[type, Callable[[Any], Evaluator]] = {
    Literal: _literal, Field: _field, Prior: _prior, Changed: _changed, Arith: _arith, Negate: _negate,
    Concat: _concat, Compare: _compare, IsBlank: _is_blank, InList: _in_list, Not: _not, Logic: _logic,
    Call: _call,
}
