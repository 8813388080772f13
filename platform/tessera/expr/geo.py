"""Geolocations in the expression language: GEOLOCATION(lat, lng), DISTANCE(a, b, 'km'|'mi'),
LATITUDE(x), LONGITUDE(x) — their Python implementations and SQL (the signatures, which the type
checker reads, are with the others in functions.py).

A geolocation value is a point, not a scalar: in Python a GeoPoint, in SQL a GeoSql pair of
(latitude, longitude) expressions, since it is stored in two columns (meta/geolocations.py). No
operator takes one; only these functions and ISBLANK do, so a point never has to be one SQL value.
DISTANCE is haversine on both targets with the same Earth radius.
"""
from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Float, and_, case, cast, func, literal, null, or_
from sqlalchemy.sql.elements import ColumnElement

from ..meta.geolocations import (EARTH_RADIUS, LIMITS, MAX_SCALE, GeoError, column_names, distance,
                                 parse_geolocation)

GEO_FUNCTIONS = frozenset({"GEOLOCATION", "DISTANCE", "LATITUDE", "LONGITUDE"})
# functions a geolocation may be given to (everything else refuses it, naming these)
TAKES_GEOLOCATION = GEO_FUNCTIONS | {"ISBLANK", "ISCHANGED", "PRIORVALUE"}


class GeoSql(NamedTuple):
    """A geolocation in SQL: two expressions, both NULL or both set."""
    latitude: ColumnElement
    longitude: ColumnElement


# -- Python -----------------------------------------------------------------------------------

def _make_point(lat, lng):
    try:
        return parse_geolocation((lat, lng), MAX_SCALE)
    except GeoError:
        return None   # out of range: blank, as DATE(2023, 2, 30) is


def unit_of(node) -> str:
    return node.args[2].value if len(node.args) == 3 else "km"


def _distance_function(node):
    unit = unit_of(node)

    def run(a, b, *_unit):
        d = distance(a, b, unit)
        return None if d is None else Decimal(repr(round(d, 9)))
    return run


PYTHON_FUNCTIONS = {
    "GEOLOCATION": lambda node: _make_point,
    "DISTANCE": _distance_function,
    "LATITUDE": lambda node: lambda point: point.latitude,
    "LONGITUDE": lambda node: lambda point: point.longitude,
}


# -- SQL --------------------------------------------------------------------------------------

def field_sql(column_for, path: tuple) -> GeoSql:
    """A geolocation field's two columns (SelectBuilder and the pipeline resolve `<field>__lat`)."""
    lat, lng = column_names(path[-1])
    return GeoSql(column_for(path[:-1] + (lat,)), column_for(path[:-1] + (lng,)))


def point_sql(lat, lng) -> GeoSql:
    inside = and_(lat >= -LIMITS["latitude"], lat <= LIMITS["latitude"],
                  lng >= -LIMITS["longitude"], lng <= LIMITS["longitude"])
    return GeoSql(case((inside, lat), else_=null()), case((inside, lng), else_=null()))


def literal_point_sql(lat, lng) -> GeoSql:
    point = None if lat is None or lng is None else _make_point(lat, lng)
    if point is None:
        return GeoSql(null(), null())
    return GeoSql(*(literal(float(v), Float()) for v in point))


def distance_sql(a: GeoSql, b: GeoSql, unit: str) -> ColumnElement:
    """Haversine: 2R·asin(√(sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2))), in double precision; the
    square root is capped at 1 so rounding never takes asin out of its domain."""
    lat1, lng1, lat2, lng2 = (func.radians(cast(x, Float)) for x in (a.latitude, a.longitude, b.latitude, b.longitude))
    half = literal(0.5, Float())
    half_lat, half_lng = func.sin((lat2 - lat1) * half), func.sin((lng2 - lng1) * half)
    h = half_lat * half_lat + func.cos(lat1) * func.cos(lat2) * half_lng * half_lng
    root = func.sqrt(h)
    capped = case((root > 1, literal(1.0, Float())), else_=root)
    return literal(2 * EARTH_RADIUS[unit], Float()) * func.asin(capped)


def blank_sql(point: GeoSql) -> ColumnElement:
    return or_(point.latitude.is_(None), point.longitude.is_(None))
