"""The function library's signatures: arity, context and typing rules.

How each function *runs* lives with each target (to_python.py, to_sql.py); this module only says
what a call means to the type checker, so both targets agree on what they are given.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..meta.geolocations import UNITS as GEO_UNITS
from . import types as t
from .nodes import Literal, Node


class ArgumentError(Exception):
    """A call's argument does not fit; `index` is 0-based. check.py turns it into an ExprError."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index
        self.message = message


@dataclass(frozen=True)
class Signature:
    name: str
    min_args: int
    max_args: int | None  # None: any number
    # (arguments) -> (result type, the type each argument is used as). The second part lets the
    # checker give a literal None the type its position needs (SQL wants typed NULLs).
    infer: Callable[[Sequence[Node]], tuple[str, Sequence[str]]]
    write_only: bool = False      # only in validation rules / workflow conditions
    takes_field: bool = False     # the argument is a field reference, not a value

    def arity_message(self, got: int) -> str:
        if self.max_args is None:
            wanted = f"at least {self.min_args} argument{'s' if self.min_args != 1 else ''}"
        elif self.min_args == self.max_args:
            wanted = f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        else:
            wanted = f"{self.min_args} or {self.max_args} arguments"
        return f"function {self.name} takes {wanted}, got {got}"


def _need(args: Sequence[Node], index: int, allowed: frozenset | set, what: str) -> str:
    """The type of args[index] if it is in `allowed` (None always fits), else an ArgumentError."""
    actual = args[index].type
    if actual != t.NULL and actual not in allowed:
        raise ArgumentError(index, f"argument {index + 1} must be {what}, got {t.describe(actual)}")
    return actual


def _same(args: Sequence[Node], first: int = 0, allowed: frozenset | None = None, what: str = "") -> str:
    """The common type of args[first:], or an ArgumentError naming the first that does not fit."""
    result = t.NULL
    for i in range(first, len(args)):
        if allowed is not None:
            _need(args, i, allowed, what)
        common = t.unify(result, args[i].type)
        if common is None:
            raise ArgumentError(i, f"argument {i + 1} must be {t.describe(result)} like the argument before, "
                                   f"got {t.describe(args[i].type)}")
        result = common
    return result


def _if(args):
    _need(args, 0, {t.BOOLEAN}, "boolean (the condition)")
    result = _same(args, first=1)
    return result, (t.BOOLEAN, result, result)


def _isblank(args):
    return t.BOOLEAN, (args[0].type,)


def _blankvalue(args):
    result = _same(args)
    return result, (result, result)


def _today(args):
    return t.DATE, ()


def _now(args):
    return t.DATETIME, ()


def _current_user(args):
    return t.ID, ()


def _date(args):
    for i in range(3):
        _need(args, i, {t.INTEGER}, "an integer")
    return t.DATE, (t.INTEGER,) * 3


def _datevalue(args):
    kind = _need(args, 0, t.DATE_LIKE, "a date or datetime")
    return t.DATE, (t.DATE if kind == t.NULL else kind,)


def _date_part(args):
    kind = _need(args, 0, t.DATE_LIKE, "a date or datetime")
    return t.INTEGER, (t.DATE if kind == t.NULL else kind,)


def _add_days(args):
    kind = _need(args, 0, t.DATE_LIKE, "a date or datetime")
    _need(args, 1, {t.INTEGER}, "an integer (a number of days)")
    kind = t.DATE if kind == t.NULL else kind
    return kind, (kind, t.INTEGER)


def _days_between(args):
    kinds = [_need(args, i, t.DATE_LIKE, "a date or datetime") for i in range(2)]
    return t.INTEGER, tuple(t.DATE if k == t.NULL else k for k in kinds)


def _text_to(result):
    def infer(args):
        for i in range(len(args)):
            _need(args, i, {t.TEXT}, "text")
        return result, (t.TEXT,) * len(args)
    return infer


def _round(args):
    kind = _need(args, 0, t.NUMERIC, "a number")
    if len(args) == 2:
        digits = args[1]
        if not (isinstance(digits, Literal) and digits.type == t.INTEGER):
            raise ArgumentError(1, "argument 2 (the number of digits) must be a whole-number literal")
        if abs(digits.value) > MAX_ROUND_DIGITS:
            raise ArgumentError(1, f"argument 2 (the number of digits) must be between "
                                   f"-{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    kind = t.NUMBER if kind == t.NULL else kind
    return kind, (kind, t.INTEGER)[:len(args)]


MAX_ROUND_DIGITS = 10


def _abs(args):
    kind = _need(args, 0, t.NUMERIC, "a number")
    kind = t.NUMBER if kind == t.NULL else kind
    return kind, (kind,)


def _min_max(args):
    result = _same(args, allowed=t.ORDERED, what="a number, text, date, datetime or time")
    return result, (result,) * len(args)


def _text(args):
    return t.TEXT, (args[0].type,)


def _value(args):
    _need(args, 0, {t.TEXT}, "text")
    return t.NUMBER, (t.TEXT,)


def _ischanged(args):
    return t.BOOLEAN, (args[0].type,)


def _priorvalue(args):
    return args[0].type, (args[0].type,)


# -- geolocations (geo.py runs them) ---------------------------------------------------------

def _geolocation(args):
    for i in range(2):
        _need(args, i, t.NUMERIC, "a number")
    return t.GEOLOCATION, (t.NUMBER, t.NUMBER)


def _distance(args):
    for i in range(2):
        _need(args, i, {t.GEOLOCATION}, "a geolocation (a field or GEOLOCATION(latitude, longitude))")
    if len(args) == 3:
        unit = args[2]
        if not (isinstance(unit, Literal) and unit.type == t.TEXT and unit.value in GEO_UNITS):
            raise ArgumentError(2, "argument 3 (the unit) must be 'km' or 'mi'")
    return t.NUMBER, (t.GEOLOCATION, t.GEOLOCATION, t.TEXT)[:len(args)]


def _coordinate(args):
    _need(args, 0, {t.GEOLOCATION}, "a geolocation")
    return t.NUMBER, (t.GEOLOCATION,)


_GEO_SIGNATURES = [
    Signature("GEOLOCATION", 2, 2, _geolocation),
    Signature("DISTANCE", 2, 3, _distance),
    Signature("LATITUDE", 1, 1, _coordinate),
    Signature("LONGITUDE", 1, 1, _coordinate),
]


def _image(args):
    from .images import infer   # images.py builds on this module's helpers
    return infer(args)


def unit_of(node) -> str:
    return node.args[2].value if len(node.args) == 3 else "km"


SIGNATURES: dict[str, Signature] = {s.name: s for s in [
    Signature("IF", 3, 3, _if),
    Signature("ISBLANK", 1, 1, _isblank),
    Signature("BLANKVALUE", 2, 2, _blankvalue),
    Signature("TODAY", 0, 0, _today),
    Signature("NOW", 0, 0, _now),
    Signature("CURRENT_USER", 0, 0, _current_user),
    Signature("DATE", 3, 3, _date),
    Signature("DATEVALUE", 1, 1, _datevalue),
    Signature("YEAR", 1, 1, _date_part),
    Signature("MONTH", 1, 1, _date_part),
    Signature("DAY", 1, 1, _date_part),
    Signature("ADD_DAYS", 2, 2, _add_days),
    Signature("DAYS_BETWEEN", 2, 2, _days_between),
    Signature("LEN", 1, 1, _text_to(t.INTEGER)),
    Signature("LOWER", 1, 1, _text_to(t.TEXT)),
    Signature("UPPER", 1, 1, _text_to(t.TEXT)),
    Signature("CONTAINS", 2, 2, _text_to(t.BOOLEAN)),
    Signature("BEGINS", 2, 2, _text_to(t.BOOLEAN)),
    Signature("ROUND", 1, 2, _round),
    Signature("ABS", 1, 1, _abs),
    Signature("MIN", 2, None, _min_max),
    Signature("MAX", 2, None, _min_max),
    Signature("TEXT", 1, 1, _text),
    Signature("VALUE", 1, 1, _value),
    Signature("ISCHANGED", 1, 1, _ischanged, write_only=True, takes_field=True),
    Signature("PRIORVALUE", 1, 1, _priorvalue, write_only=True, takes_field=True),
    *_GEO_SIGNATURES,
    # IMAGE(url, alt [, height, width]): the checker passes it whether an id is a file (check.py)
    Signature("IMAGE", 2, 4, _image),
]}
