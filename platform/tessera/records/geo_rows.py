"""Geolocation fields on the write path: one value (a GeoPoint) per field in the record service,
two columns (<field>__lat, <field>__lng) in the table (meta/geolocations.py).

The record service keeps a record's values by field name throughout (coercion, rules, workflows,
history); only the statements that touch the table split a point into its columns (UPDATE) or
fold the columns back into a point (the row a write starts from). The INSERT writer splits on its
own (records/writer.py).
from __future__ import annotations

The same goes for related_to fields (meta/related.py): a RelatedRef(object, id) in the service,
the `<field>__object` and `<field>` columns in the table. `pair_fields` (CompiledObject.pair_fields)
are (field name, its two columns, the value type made from them).
"""


def split(pair_fields, values) -> dict:
    """`values` with each two-column field replaced by its two columns (None: both NULL)."""
    out = dict(values)
    for name, columns, _make in pair_fields:
        if name in out:
            value = out.pop(name)
            out[columns[0]], out[columns[1]] = (None, None) if value is None else value
    return out


def fold(pair_fields, row) -> dict:
    """A table row (a mapping of columns) with each two-column field's columns folded into one value."""
    out = dict(row)
    for name, (first, second), make in pair_fields:
        a, b = out.pop(first, None), out.pop(second, None)
        out[name] = None if a is None or b is None else make(a, b)
    return out
