"""Database values → JSON-ready API values (the API representation of each field type)."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal

from ..meta.geolocations import GeoPoint, to_api as geo_to_api
from ..meta.related import RelatedRef, to_api as related_to_api


def to_api(value, field_type: str | None = None):
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if field_type == "related_to" or isinstance(value, RelatedRef):   # a query reads "object:id" text
        return related_to_api(value)
    if field_type == "geolocation" or isinstance(value, GeoPoint):   # a query reads "lat,lng" text
        return geo_to_api(value)
    if isinstance(value, Decimal):
        return int(value) if field_type in ("integer", "duration") else float(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite returns naive values; we only ever store UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if field_type == "multi_picklist" and isinstance(value, str):
        return value.split(";") if value else []
    if field_type == "boolean" and isinstance(value, int):
        return bool(value)
    return value


def to_python(value, field_type: str | None = None):
    """A database value as the expression language's Python evaluation expects it."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value
