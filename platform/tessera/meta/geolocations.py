"""Geolocations: a latitude and a longitude, stored in two numeric columns, exchanged as
`{"latitude": 48.8566, "longitude": 2.3522}`, typed (forms, CSV, text type changes) as
`48.8566, 2.3522`.

A value is a GeoPoint of two Decimals rounded to the field's `scale` (decimal places, default 6:
about 11 cm). Distances are great-circle distances on a sphere of the mean Earth radius
(haversine): the same formula in Python here and in SQL (expr/to_sql.py), so a filter and a
validation rule agree.
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

DEFAULT_SCALE = 6
MAX_SCALE = 10
EARTH_RADIUS = {"km": 6371.0088, "mi": 3958.7613}   # mean Earth radius (IUGG) in each unit
UNITS = tuple(EARTH_RADIUS)
PARTS = ("latitude", "longitude")
LIMITS = {"latitude": 90, "longitude": 180}
HINT = 'an object {"latitude": 48.8566, "longitude": 2.3522} or the text "48.8566, 2.3522"'
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
TEXT_PATTERN = rf"^\s*{_NUMBER}\s*[,;]\s*{_NUMBER}\s*$"   # "48.8566, 2.3522" (also in OpenAPI)
_TEXT = re.compile(rf"\s*({_NUMBER})\s*[,;]\s*({_NUMBER})\s*")


class GeoPoint(NamedTuple):
    latitude: Decimal
    longitude: Decimal


class GeoError(ValueError):
    """A value that is no geolocation; `part` names the part at fault (latitude, longitude) or None."""

    def __init__(self, message: str, part: str | None = None):
        super().__init__(message)
        self.part = part


def column_names(field_name: str) -> tuple[str, str]:
    """The two columns a geolocation field is stored in."""
    return f"{field_name}__lat", f"{field_name}__lng"


def _part(value, part: str, scale: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise GeoError(f"{part} must be a number", part)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise GeoError(f"{part} must be a number, got {value!r}", part) from None
    if not number.is_finite():
        raise GeoError(f"{part} must be a finite number", part)
    limit = LIMITS[part]
    if not -limit <= number <= limit:
        raise GeoError(f"{part} must be between -{limit} and {limit}, got {value}", part)
    return number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def parse_geolocation(value, scale: int = DEFAULT_SCALE) -> GeoPoint:
    """A GeoPoint from {"latitude": …, "longitude": …}, a GeoPoint, a [lat, lng] pair or the text
    "lat, lng"; a GeoError naming the part at fault otherwise."""
    if isinstance(value, GeoPoint):
        parts = dict(zip(PARTS, value))
    elif isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in PARTS)
        if unknown:
            raise GeoError(f"unknown part {unknown[0]!r} (a geolocation has latitude and longitude)", unknown[0])
        for part in PARTS:
            if value.get(part) is None:
                raise GeoError(f"{part} is required", part)
        parts = value
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        parts = dict(zip(PARTS, value))
    elif isinstance(value, str):
        match = _TEXT.fullmatch(value)
        if match is None:
            raise GeoError(f"{value!r} is not {HINT}")
        parts = dict(zip(PARTS, match.groups()))
    else:
        raise GeoError(f"must be {HINT}")
    return GeoPoint(*(_part(parts[p], p, scale) for p in PARTS))


def format_geolocation(point, scale: int = DEFAULT_SCALE, sep: str = ", ") -> str:
    """`48.856600, 2.352200` (as forms and lists show it); "" for nothing."""
    if point is None:
        return ""
    if not isinstance(point, GeoPoint):
        point = parse_geolocation(point, MAX_SCALE)
    return sep.join(f"{Decimal(v):.{scale}f}" for v in point)


def to_api(point) -> dict | None:
    """The API's shape: {"latitude": float, "longitude": float}."""
    if point is None:
        return None
    if not isinstance(point, GeoPoint):
        point = parse_geolocation(point, MAX_SCALE)   # a database read: "lat,lng" text
    return {"latitude": float(point.latitude), "longitude": float(point.longitude)}


def distance(a: GeoPoint | None, b: GeoPoint | None, unit: str = "km") -> float | None:
    """Great-circle distance (haversine); None when either point is blank."""
    if a is None or b is None:
        return None
    lat1, lng1, lat2, lng2 = map(math.radians, (float(a[0]), float(a[1]), float(b[0]), float(b[1])))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS[unit] * math.asin(min(1.0, math.sqrt(h)))
