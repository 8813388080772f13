"""Coercion of a whole column of a bulk create at once.

A bulk create (API or CSV import; target ≥ 50,000 rows/s on SQLite) coerces field by field
rather than row by row: a field's values are checked together by C-level passes (`set(map(type,
…))`, `max(map(len, …))`, set inclusion, `map(date.fromisoformat, …)`) instead of a Python call
per value. A fast path answers only when it can vouch for every value of the column; otherwise
(a blank, a value of an unexpected type, one that fails a check) the column goes through the
field's own per-value coercer (records/coerce.py), which also words the errors. The two agree
on every input — tests/records/test_column_coercion.py checks it on random columns.
"""
from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from itertools import repeat
from operator import mul, truediv

from ..meta.model import FieldDef
from .coerce import BIGINT_MAX, NUL, parse_id

MISSING = object()   # the row has no such key (absent, unlike null: absent fields get defaults)
_EXACT_QUANTA = 10 ** 15   # |float| * 10**scale below this: floats are spaced finer than a quantum


def _text(field: FieldDef):
    max_length = field.options.get("max_length")

    def fast(values, from_text):
        if set(map(type, values)) != {str} or "" in values or NUL in "".join(values):
            return None     # a NUL: refused by the per-value coercer, which words the error
        if max_length and max(map(len, values)) > max_length:
            return None
        return values
    return fast


def _picklist(field: FieldDef):
    text, allowed = _text(field), frozenset(field.picklist_values)
    if not field.options.get("restricted", True):
        return text

    def fast(values, from_text):
        if text(values, from_text) is None or not allowed.issuperset(values):
            return None
        return values
    return fast


def _bounded(field: FieldDef, lo_limit, hi_limit):
    """min/max of the column against the type's range and the field's own min/max."""
    lo, hi = field.options.get("min"), field.options.get("max")

    def within(smallest, largest) -> bool:
        if (lo_limit is not None and smallest < lo_limit) or (hi_limit is not None and largest > hi_limit):
            return False
        return (lo is None or smallest >= lo) and (hi is None or largest <= hi)
    return within


def _integer(field: FieldDef):
    within = _bounded(field, -BIGINT_MAX, BIGINT_MAX)

    def fast(values, from_text):
        if set(map(type, values)) != {int} or not within(min(values), max(values)):
            return None      # from_text: strings, parsed per value (int() takes ' 1_000 ')
        return values
    return fast


def _decimal(field: FieldDef):
    precision, scale = field.options["precision"], field.options["scale"]
    limit = Decimal(10) ** (precision - scale)
    within = _bounded(field, -limit, limit)
    quantum, exponent, factor = Decimal(1).scaleb(-scale), Decimal(-scale), 10 ** scale
    rounding = Context(rounding=ROUND_HALF_UP)   # the per-value coercer's quantize(…, ROUND_HALF_UP)

    def as_written(values):
        """The per-value coercer's arithmetic — the number as written (str of the float), rounded
        — in C passes over the column."""
        return list(map(rounding.quantize, map(Decimal, map(str, values)), repeat(quantum)))

    def already_rounded(values):
        """When every value is a number of at most `scale` decimals (k / 10**scale, the float
        nearest to it), that number is k scaled: no float is printed. Below 10**15 quanta the
        floats are spaced finer than a quantum, so k is the only such number for its float, and
        the float's shortest repr (what the per-value coercer reads) is k / 10**scale too."""
        scaled = list(map(round, map(mul, values, repeat(float(factor)))))
        if min(scaled) <= -_EXACT_QUANTA or max(scaled) >= _EXACT_QUANTA:
            return None
        if list(map(truediv, scaled, repeat(factor))) != values:
            return None
        numbers = list(map(rounding.scaleb, map(Decimal, scaled), repeat(exponent)))
        if 0 in scaled:   # keep the sign of a -0.0, as Decimal('-0.0') does
            for index, k in enumerate(scaled):
                if k == 0:
                    numbers[index] = rounding.quantize(Decimal(str(values[index])), quantum)
        return numbers

    def fast(values, from_text):
        if not {int, float}.issuperset(set(map(type, values))) or not all(map(math.isfinite, values)):
            return None
        try:
            numbers = already_rounded(values) or as_written(values)
        except (InvalidOperation, OverflowError):   # more digits than the context holds (1E100); x * 10**scale overflows
            return None
        smallest, largest = min(numbers), max(numbers)
        if smallest <= -limit or largest >= limit or not within(smallest, largest):
            return None
        return numbers
    return fast


def _boolean(field: FieldDef):
    def fast(values, from_text):
        return values if set(map(type, values)) == {bool} else None
    return fast


def _date(field: FieldDef):
    def fast(values, from_text):
        if set(map(type, values)) != {str}:
            return None
        try:   # fromisoformat refuses surrounding blanks, which the per-value coercer strips
            return list(map(date.fromisoformat, values))
        except ValueError:
            return None
    return fast


def _lookup(field: FieldDef):
    def fast(values, from_text):
        if set(map(type, values)) != {str}:
            return None
        try:   # an import names the same few parents on every row: parse each distinct id once
            parsed = {text: parse_id(text) for text in set(values)}
        except ValueError:
            return None
        return list(map(parsed.__getitem__, values))
    return fast


_FACTORIES = {
    "text": _text, "textarea": _text, "phone": _text, "picklist": _picklist,
    "integer": _integer, "number": _decimal, "currency": _decimal, "percent": _decimal,
    "boolean": _boolean, "date": _date, "lookup": _lookup, "master_detail": _lookup, "file": _lookup,
    "image": _lookup,
}


def column_coercer_for(field: FieldDef):
    """The fast path for a column of `field` (None: types coerced value by value)."""
    factory = _FACTORIES.get(field.type)
    return factory(field) if factory else None


class IdColumn:
    """The owner column: record ids, like a lookup's."""
    fast = staticmethod(_lookup(None))

    @staticmethod
    def coerce(value, from_text=False):
        return parse_id(value)


ID_COLUMN = IdColumn()


def coerce_column(values: list, coerce, fast, from_text: bool) -> tuple[list, dict[int, str], bool]:
    """(coerced values, {row index: error message}, whether every row has a value). MISSING stays
    MISSING; null and "" become None, as in a single create; a value that fails is None in the
    output and named in the errors."""
    if fast is not None:
        out = fast(values, from_text)
        if out is not None:
            return out, {}, True
    out, errors = [], {}
    append = out.append
    for index, value in enumerate(values):
        if value is MISSING:
            append(MISSING)
        elif value is None or value == "":
            append(None)
        else:
            try:
                append(coerce(value, from_text))
            except ValueError as exc:
                errors[index] = str(exc)
                append(None)
    return out, errors, False
