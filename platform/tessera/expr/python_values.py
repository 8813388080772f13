"""Python values as the expression language sees them: normalizing inputs (floats, naive
datetimes, UUIDs), blankness, and the decimal rounding both division and ROUND use."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal
from typing import Any, Callable

from ..meta.geolocations import MAX_SCALE, GeoPoint, parse_geolocation
from . import types as t
from .semantics import DIVISION_SCALE


def to_number(value):
    if isinstance(value, float):
        return Decimal(repr(value))  # the decimal the float was written as, not its binary expansion
    return value


def to_integer(value):
    if isinstance(value, Decimal):
        return int(value)
    return value


def _as_point(value):
    """A geolocation as Python evaluation takes it: a GeoPoint (a query reads "lat,lng" text)."""
    return value if isinstance(value, GeoPoint) else parse_geolocation(value, MAX_SCALE)


def to_datetime(value):
    if isinstance(value, datetime):
        # Naive datetimes are UTC (SQLite hands them back naive); aware ones are moved to UTC.
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value


def to_date(value):
    if isinstance(value, datetime):
        return to_datetime(value).date()
    return value


_NORMALIZE = {t.NUMBER: to_number, t.INTEGER: to_integer, t.DATETIME: to_datetime, t.DATE: to_date,
              t.GEOLOCATION: _as_point}


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


def comparable_value(value):
    if value is None or value == "":
        return None  # blank is blank, however it was written
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime):
        return to_datetime(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# Rounding to a number of places needs as many digits as the value has; never fail for lack of them.
_WIDE = Context(prec=2000, Emax=MAX_EMAX, Emin=MIN_EMIN)
_QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(-20, 21)}


def divide(a, b):
    if b == 0:
        return None  # division by zero is blank, as NULLIF makes it in SQL
    return round_half_up(Decimal(a) / Decimal(b), DIVISION_SCALE)


def round_half_up(value: Decimal, places: int) -> Decimal:
    rounded = value.quantize(_QUANTUM[places], rounding=ROUND_HALF_UP, context=_WIDE)
    if not rounded:
        rounded = abs(rounded)  # no "-0"
    # ROUND(1234, -2) is 1200, not Decimal('1.2E+3'): same value, but plain to read.
    return rounded.quantize(_QUANTUM[0], context=_WIDE) if places < 0 else rounded
