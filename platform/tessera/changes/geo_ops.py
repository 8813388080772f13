"""The change pipeline's DDL for geolocation fields: two columns and a CHECK constraint
(storage/tables.py) added, dropped, renamed and converted together.

SQLite cannot add or drop a table constraint with ALTER TABLE, and cannot DROP COLUMN a column a
CHECK constraint names: adding and dropping a geolocation rebuilds the table there (batch mode,
from the table as metadata describes it). A rename is a plain RENAME COLUMN on SQLite, which
rewrites the constraint's expression too; only its name keeps the old field's, which nothing reads
(a later rebuild starts from metadata). PostgreSQL alters in place and renames the constraint.

Type changes into and out of a geolocation convert every value (text "lat, lng" ↔ a point) and
are refused, with a count and examples, when some value does not convert (checked first).
"""
from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.sql.elements import conv

from ..meta.geolocations import GeoError, GeoPoint, column_names, format_geolocation, parse_geolocation
from ..meta.model import FieldDef
from ..storage.tables import geo_check, geo_columns
from .convert import ConversionError, convert, kind

GEO_TEXT_TYPES = frozenset({"text", "textarea"})   # what a geolocation converts from and to


def check_name(table_name: str, field_name: str) -> str:
    return f"ck_{table_name}_{field_name}_geo"   # the naming convention's ck_%(table_name)s_%(constraint_name)s


def add_columns(ops, ctx, before, after, f: FieldDef) -> None:
    """The two columns and their CHECK constraint, empty."""
    columns = geo_columns(f)
    constraint = geo_check(after.name, f)
    if ctx.sqlite:
        ctx.check_foreign_keys_of(before.name)   # rebuilt
        with ops.batch_alter_table(before.name, copy_from=before, recreate="always") as batch:
            for column in columns:
                batch.add_column(column)
            batch.create_check_constraint(f"{f.name}_geo", constraint.sqltext)
    else:
        for column in columns:
            ops.add_column(after.name, column)
        ops.create_check_constraint(conv(check_name(after.name, f.name)), after.name, constraint.sqltext)


def drop_columns(ops, ctx, before, f: FieldDef) -> None:
    if ctx.sqlite:
        ctx.check_foreign_keys_of(before.name)
        with ops.batch_alter_table(before.name, copy_from=before, recreate="always") as batch:
            batch.drop_constraint(f"{f.name}_geo", type_="check")
            for name in column_names(f.name):
                batch.drop_column(name)
    else:
        for name in column_names(f.name):   # PostgreSQL drops the constraint with its columns
            ops.drop_column(before.name, name)


def rename_columns(ops, ctx, table_name: str, old: FieldDef, new_name: str) -> None:
    if not ctx.sqlite:
        ops.drop_constraint(conv(check_name(table_name, old.name)), table_name, type_="check")
    for was, now in zip(column_names(old.name), column_names(new_name)):
        ops.alter_column(table_name, was, new_column_name=now)
    if not ctx.sqlite:
        renamed = FieldDef.from_doc(new_name, {"type": "geolocation"})
        ops.create_check_constraint(conv(check_name(table_name, new_name)), table_name,
                                    geo_check(table_name, renamed).sqltext)


def write_points(conn, table, f: FieldDef, points) -> None:
    """`points`: (record id, GeoPoint) pairs written into the field's two columns."""
    lat, lng = column_names(f.name)
    stmt = update(table).where(table.c.id == bindparam("b_id")).values(
        {lat: bindparam("b_lat"), lng: bindparam("b_lng")})
    rows = [{"b_id": rid, "b_lat": p.latitude, "b_lng": p.longitude} for rid, p in points if p is not None]
    for start in range(0, len(rows), 1000):
        conn.execute(stmt, rows[start:start + 1000])


def read_points(conn, table, name: str):
    """(record id, GeoPoint) of every row with a point, oldest first."""
    lat, lng = (table.c[c] for c in column_names(name))
    stmt = select(table.c.id, lat, lng).where(lat.isnot(None)).order_by(table.c.created_at, table.c.id)
    return [(rid, GeoPoint(a, b)) for rid, a, b in conn.execute(stmt)]


def is_geo_retype(old: FieldDef, new: FieldDef) -> bool:
    return (old.type == "geolocation") != (new.type == "geolocation")


def to_point(value, new: FieldDef) -> GeoPoint:
    """A text value (or a point of another scale) as a point of `new` (ConversionError phrased for
    "N rows …")."""
    try:
        return parse_geolocation(value if isinstance(value, (str, GeoPoint)) else str(value),
                                 new.options.get("scale", 6))
    except GeoError:
        raise ConversionError('not a geolocation ("latitude, longitude", e.g. "48.8566, 2.3522")') from None


def from_point(point: GeoPoint, old: FieldDef, new: FieldDef):
    """A point as a value of `new` (a text type): "48.856600, 2.352200", checked like any text."""
    text = format_geolocation(point, old.options.get("scale", 6))
    return convert(text, FieldDef.from_doc(old.name, {"type": "text", "max_length": 1000}), new)


def retype_convertible(old: FieldDef, new: FieldDef) -> str | None:
    """Why a type change into or out of a geolocation cannot be made whatever the data (None: it
    can, when every value converts)."""
    other = new if old.type == "geolocation" else old
    if other.type not in GEO_TEXT_TYPES:
        return (f"a {old.type} field cannot become a {new.type} field (a geolocation converts only from and to "
                f"text written \"latitude, longitude\")")
    if kind(other) != "str":
        return "not text"
    return None

