"""Geolocation fields on the write path: one value (a GeoPoint) per field in the record service,
two columns (<field>__lat, <field>__lng) in the table (meta/geolocations.py).

The record service keeps a record's values by field name throughout (coercion, rules, workflows,
history); only the statements that touch the table split a point into its columns (UPDATE) or
fold the columns back into a point (the row a write starts from). The INSERT writer splits on its
own (records/writer.py).
"""
from __future__ import annotations

from ..meta.geolocations import GeoPoint, column_names


def split(geo_fields, values) -> dict:
    """`values` with each geolocation field replaced by its two columns (None: both NULL)."""
    out = dict(values)
    for name in geo_fields:
        if name in out:
            point = out.pop(name)
            lat, lng = column_names(name)
            out[lat], out[lng] = (None, None) if point is None else point
    return out


def fold(geo_fields, row) -> dict:
    """A table row (a mapping of columns) with each geolocation's columns folded into one GeoPoint."""
    out = dict(row)
    for name in geo_fields:
        lat, lng = column_names(name)
        a, b = out.pop(lat, None), out.pop(lng, None)
        out[name] = None if a is None or b is None else GeoPoint(a, b)
    return out
