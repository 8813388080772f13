"""Input coercion and type validation, compiled once per field per Runtime.

Each field gets a closure `coerce(value, from_text) -> python value` raising ValueError with a
user-facing message. `from_text` is for CSV import, where every value arrives as a string.
Why closures and not a marshmallow Schema per object: a record write runs this for every field of
every row (bulk import targets ≥ 50k rows/s), and marshmallow's per-call overhead dominates that
budget; we still reuse marshmallow's well-tested Email and URL validators.
"""
from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

import nh3
from marshmallow import ValidationError as _MmError
from marshmallow.validate import URL, Email

from ..meta.durations import format_duration, parse_duration
from ..meta.related import parse_related
from ..meta.geolocations import DEFAULT_SCALE as DEFAULT_GEO_SCALE, parse_geolocation
from ..meta.model import FieldDef

_email = Email()
_url = URL(schemes={"http", "https"}, require_tld=False)
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
BIGINT_MAX = 2**63 - 1
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"


JSON_MAX_DEPTH = 64


def _json_problem(value) -> str | None:
    """Why a JSON value cannot be stored (a NUL, or nesting deeper than JSON_MAX_DEPTH), or None.
    PostgreSQL stores no NUL in text or jsonb (SQLite would), so every coercer refuses it, before
    any SQL runs, on both databases.
    Iterative: a value nested just below the parser's limit must not exhaust the stack here."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return NUL_MESSAGE
        elif isinstance(item, (dict, list)):
            if depth >= JSON_MAX_DEPTH:
                return f"is nested more than {JSON_MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                item = item.values()
            stack.extend((child, depth + 1) for child in item)
    return None


def _text(field: FieldDef):
    max_length = field.options.get("max_length")

    def coerce(value, from_text=False):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if NUL in value:
            raise ValueError(NUL_MESSAGE)
        if max_length and len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return value
    return coerce


def _checked(base, check):
    def coerce(value, from_text=False):
        value = base(value, from_text)
        try:
            check(value)
        except _MmError as exc:
            raise ValueError(str(exc.messages[0]).rstrip(".").lower()) from None
        return value
    return coerce


def _rich_text(field: FieldDef):
    base = _text(field)
    return lambda value, from_text=False: nh3.clean(base(value, from_text))


def _picklist(field: FieldDef):
    base, values, restricted = _text(field), set(field.picklist_values), field.options.get("restricted", True)

    def coerce(value, from_text=False):
        value = base(value, from_text)
        if restricted and value not in values:
            raise ValueError(f"'{value}' is not one of the values: {', '.join(field.picklist_values)}")
        return value
    return coerce


def _multi_picklist(field: FieldDef):
    values, restricted = set(field.picklist_values), field.options.get("restricted", True)

    def coerce(value, from_text=False):
        if from_text and isinstance(value, str):
            value = [v.strip() for v in value.split(";") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of strings")
        if any(NUL in v for v in value):
            raise ValueError(NUL_MESSAGE)
        for v in value:
            if ";" in v:
                raise ValueError("values cannot contain ';'")
            if restricted and v not in values:
                raise ValueError(f"'{v}' is not one of the values: {', '.join(field.picklist_values)}")
        return ";".join(dict.fromkeys(value)) or None
    return coerce


def _bounds(field):
    """The min/max check of a numeric field, read from its options once (None: no bounds)."""
    lo, hi = field.options.get("min"), field.options.get("max")
    if lo is None and hi is None:
        return None

    def check(value):
        if lo is not None and value < lo:
            raise ValueError(f"must be at least {lo}")
        if hi is not None and value > hi:
            raise ValueError(f"must be at most {hi}")
    return check


def _integer(field: FieldDef):
    bounds = _bounds(field)

    def coerce(value, from_text=False):
        if from_text and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError(f"'{value}' is not an integer") from None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ValueError("must be an integer")
        if abs(value) > BIGINT_MAX:
            raise ValueError("is out of range")
        if bounds is not None:
            bounds(value)
        return value
    return coerce


def _duration(field: FieldDef):
    """Seconds, from seconds or a duration text ("1h 30m"); min/max may be written either way."""
    lo, hi = (parse_duration(field.options[k]) if field.options.get(k) is not None else None for k in ("min", "max"))

    def coerce(value, from_text=False):
        seconds = parse_duration(value)
        if lo is not None and seconds < lo:
            raise ValueError(f"must be at least {format_duration(lo)}")
        if hi is not None and seconds > hi:
            raise ValueError(f"must be at most {format_duration(hi)}")
        return seconds
    return coerce


def _geolocation(field: FieldDef):
    """A GeoPoint from {"latitude": …, "longitude": …} or "lat, lng" text (CSV, forms), rounded
    to the field's scale; errors name the part (latitude, longitude) at fault."""
    scale = field.options.get("scale", DEFAULT_GEO_SCALE)

    def coerce(value, from_text=False):
        return parse_geolocation(value, scale)
    return coerce


def _decimal(field: FieldDef):
    precision, scale = field.options["precision"], field.options["scale"]
    quantum = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** (precision - scale)
    bounds = _bounds(field)

    def coerce(value, from_text=False):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            raise ValueError("must be a number")
        if isinstance(value, str) and not from_text:
            raise ValueError("must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"'{value}' is not a number") from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        try:
            number = number.quantize(quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:   # more digits than the decimal context holds (1E100)
            raise ValueError(f"has more than {precision - scale} digits before the decimal point") from None
        if abs(number) >= limit:
            raise ValueError(f"has more than {precision - scale} digits before the decimal point")
        if bounds is not None:
            bounds(number)
        return number
    return coerce


def _boolean(field: FieldDef):
    def coerce(value, from_text=False):
        if from_text and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    return coerce


def _date(field: FieldDef):
    def coerce(value, from_text=False):
        if not isinstance(value, str):
            raise ValueError("must be a date string YYYY-MM-DD")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a date (YYYY-MM-DD)") from None
    return coerce


def parse_datetime(value: str) -> datetime:
    text = value.strip()
    parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:   # 0001-01-01T00:00+01:00 is in year 0 in UTC
        raise ValueError(f"{value!r} is out of range in UTC") from None


def _datetime(field: FieldDef):
    def coerce(value, from_text=False):
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string")
        try:
            return parse_datetime(value)
        except ValueError:
            raise ValueError(f"'{value}' is not an ISO 8601 date-time") from None
    return coerce


def _time(field: FieldDef):
    def coerce(value, from_text=False):
        if not isinstance(value, str):
            raise ValueError("must be a time string HH:MM[:SS]")
        try:
            parsed = time.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a time (HH:MM[:SS])") from None
        return parsed.replace(tzinfo=None)
    return coerce


def parse_id(value) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a record id string")
    try:
        return _uuid(value.strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a record id") from None


@lru_cache(maxsize=4096)
def _uuid(text: str) -> uuid.UUID:
    """UUID(text) costs ~2 µs; an import repeats the same few parent ids on every row."""
    return uuid.UUID(text)


def _lookup(field: FieldDef):
    return lambda value, from_text=False: parse_id(value)


def _related(field: FieldDef):
    """{"object": …, "id": …} or "object:id": a RelatedRef; whether the object is one the field
    takes, and the record one the actor may see, is the write's check (records/related.py)."""
    return lambda value, from_text=False: parse_related(value)


def _json(field: FieldDef):
    import json

    def coerce(value, from_text=False):
        if from_text and isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                raise ValueError("is not valid JSON") from None
        problem = _json_problem(value)
        if problem:
            raise ValueError(problem)
        return value
    return coerce


_FACTORIES = {
    "text": _text, "textarea": _text, "phone": _text,
    "email": lambda f: _checked(_text(f), _email),
    "url": lambda f: _checked(_text(f), _url),
    "rich_text": _rich_text, "picklist": _picklist, "multi_picklist": _multi_picklist,
    "integer": _integer, "number": _decimal, "currency": _decimal, "percent": _decimal, "duration": _duration,
    "geolocation": _geolocation,
    "boolean": _boolean, "date": _date, "datetime": _datetime, "time": _time,
    "lookup": _lookup, "master_detail": _lookup, "file": _lookup, "image": _lookup, "json": _json,
    "related_to": _related,
}


def coercer_for(field: FieldDef):
    """The coercion closure for a writable stored field (None for computed/autonumber fields)."""
    factory = _FACTORIES.get(field.type)
    return factory(field) if factory else None


