"""Value conversion between field definitions: the data check behind every type change.

SQL casts differ between databases and SQLite coerces silently ('x' → 0, '2024-01-05' → 2024), so
the pipeline converts the actual values in Python: a value that does not convert makes the change
refuse (with a count and examples), and a value that does is written back converted. The same
rules decide whether narrowing a length, a precision or a picklist keeps every value.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal, InvalidOperation

from ..meta.durations import parse_duration
from ..meta.model import FieldDef

STRING_TYPES = {"text", "textarea", "rich_text", "email", "phone", "url", "picklist", "multi_picklist", "autonumber"}
_KIND = {
    **{t: "str" for t in STRING_TYPES},
    "integer": "int", "duration": "duration",
    "number": "decimal", "currency": "decimal", "percent": "decimal",
    "boolean": "bool", "date": "date", "datetime": "datetime", "time": "time",
    "lookup": "uuid", "master_detail": "uuid", "file": "uuid", "image": "uuid", "json": "json",
}
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_INT = re.compile(r"[+-]?\d+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
BIGINT_MAX = 2 ** 63 - 1


class ConversionError(ValueError):
    """`reason` is phrased to follow "N rows ..." (e.g. "not an integer")."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def kind(field: FieldDef) -> str:
    """The Python kind of a stored field's values (str, int, decimal, bool, date, ...)."""
    return _KIND[field.type]


def convert(value, old: FieldDef, new: FieldDef):
    """`value` (as read from `old`'s column) as a value of `new`; raises ConversionError."""
    if value is None:
        return None
    k = kind(new)
    if isinstance(value, str) and k not in ("str", "json") and not value.strip():
        return None   # a blank text is a blank value of any other type
    if kind(old) == "uuid" and k == "uuid":
        if old.target != new.target:
            raise ConversionError(f"points to a record of {old.target}, not of {new.target}")
        return value
    return _CONVERTERS[k](value, new, old)


def literal(value, field: FieldDef):
    """A literal from metadata (e.g. a default) as a value of `field`'s column."""
    if value is None:
        return None
    if field.type == "multi_picklist" and isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and kind(field) == "str":
        value = value.isoformat()
    return _CONVERTERS[kind(field)](value, field, None)


# --------------------------------------------------------------------------- converters

def _to_str(value, f: FieldDef, old: FieldDef | None) -> str:
    if isinstance(value, str):
        s = value
    elif isinstance(value, bool):
        s = "true" if value else "false"
    elif isinstance(value, (dt.date, dt.time)):
        s = value.isoformat()
    elif isinstance(value, Decimal):
        s = format(value, "f")
    elif isinstance(value, (int, uuid.UUID)):
        s = str(value)
    elif isinstance(value, float):
        s = repr(value)
    else:
        s = json.dumps(value, ensure_ascii=False, sort_keys=True)
    limit = f.options.get("max_length")
    if limit is not None and len(s) > int(limit):
        raise ConversionError(f"longer than {limit} characters")
    if f.type in ("picklist", "multi_picklist") and f.options.get("restricted", True):
        allowed = set(f.picklist_values)
        items = [p for p in s.split(";") if p != ""] if f.type == "multi_picklist" else [s]
        if any(item not in allowed for item in items):
            raise ConversionError("not one of the picklist values")
    retyped = old is None or old.type != f.type   # formats are checked when the type changes
    if retyped and f.type == "email" and not _EMAIL.fullmatch(s):
        raise ConversionError("not an email address")
    if retyped and f.type == "url" and not _URL.fullmatch(s):
        raise ConversionError("not an http(s) URL")
    return s


def _to_int(value, f: FieldDef, old: FieldDef | None) -> int:
    if isinstance(value, bool):
        raise ConversionError("not an integer")
    if isinstance(value, int):
        n = value
    elif isinstance(value, (Decimal, float)):
        if value != int(value):
            raise ConversionError("has a fractional part")
        n = int(value)
    elif isinstance(value, str) and _INT.fullmatch(value.strip()):
        n = int(value.strip())
    else:
        raise ConversionError("not an integer")
    if abs(n) > BIGINT_MAX:
        raise ConversionError("out of the integer range")
    return n


def _to_duration(value, f: FieldDef, old: FieldDef | None) -> int:
    """Seconds: integers are seconds already; text as forms take it ("1h 30m")."""
    if isinstance(value, (Decimal, float)) and value == int(value):
        value = int(value)
    try:
        return parse_duration(value)
    except ValueError:
        raise ConversionError("not a duration") from None


def _to_decimal(value, f: FieldDef, old: FieldDef | None) -> Decimal:
    if isinstance(value, bool):
        raise ConversionError("not a number")
    try:
        if isinstance(value, Decimal):
            d = value
        elif isinstance(value, int):
            d = Decimal(value)
        elif isinstance(value, float):
            d = Decimal(repr(value))
        elif isinstance(value, str):
            d = Decimal(value.strip())
        else:
            raise ConversionError("not a number")
    except InvalidOperation:
        raise ConversionError("not a number") from None
    if not d.is_finite():
        raise ConversionError("not a number")
    precision, scale = int(f.options.get("precision", 18)), int(f.options.get("scale", 2))
    normalized = d.normalize()
    exponent = normalized.as_tuple().exponent
    if exponent < 0 and -exponent > scale:
        raise ConversionError(f"more than {scale} decimal places")
    whole_digits = d.adjusted() + 1 if abs(d) >= 1 else 0   # not int(d): '1E999999999' would not fit in memory
    if whole_digits > precision - scale:
        raise ConversionError(f"more than {precision - scale} digits before the decimal point")
    return d


def _to_bool(value, f: FieldDef, old: FieldDef | None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    raise ConversionError("not a true/false value")


def _to_date(value, f: FieldDef, old: FieldDef | None) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ConversionError("has a time of day")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConversionError("not a date (YYYY-MM-DD)")


def _to_datetime(value, f: FieldDef, old: FieldDef | None) -> dt.datetime:
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            result = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConversionError("not an ISO 8601 date-time") from None
    else:
        raise ConversionError("not an ISO 8601 date-time")
    return result.replace(tzinfo=dt.timezone.utc) if result.tzinfo is None else result.astimezone(dt.timezone.utc)


def _to_time(value, f: FieldDef, old: FieldDef | None) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConversionError("not a time (HH:MM[:SS])")


def _to_uuid(value, f: FieldDef, old: FieldDef | None):
    if isinstance(value, uuid.UUID):
        return value
    raise ConversionError(f"not the id of a {f.target} record")


def _to_json(value, f: FieldDef, old: FieldDef | None):
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, (dt.date, dt.time, uuid.UUID)):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


_CONVERTERS = {
    "str": _to_str, "int": _to_int, "decimal": _to_decimal, "bool": _to_bool, "date": _to_date,
    "datetime": _to_datetime, "time": _to_time, "uuid": _to_uuid, "json": _to_json, "duration": _to_duration,
}
