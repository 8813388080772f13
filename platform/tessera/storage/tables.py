"""Metadata → SQLAlchemy Tables: one real table per object, typed columns, FKs for lookups.

Tables are always built from metadata, never reflected (reflection loses `Uuid`, among others).
"""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer,
                        MetaData, Numeric, String, Table, Text, Time, Uuid, and_, case, column, or_)
from sqlalchemy.sql.elements import conv
from sqlalchemy.types import TypeEngine

from ..encryption.column import EncryptedText
from ..meta.geolocations import DEFAULT_SCALE, LIMITS, column_names
from ..meta import related
from ..meta.model import FieldDef, Metadata, ObjectDef
from .naming import NAMING_CONVENTION

USER_TABLE = "obj_user"
ON_DELETE = {"set_null": "SET NULL", "restrict": "RESTRICT", "cascade": "CASCADE"}


def column_type(field: FieldDef) -> TypeEngine:
    t, o = field.type, field.options
    if field.encrypted:   # TEXT whatever max_length: ciphertext is longer (tessera/encryption)
        return EncryptedText(field.encryption_mode, field.name)
    if t in ("text", "email", "phone", "url", "picklist", "autonumber"):
        return String(o.get("max_length", 255))
    if t in ("textarea", "rich_text", "multi_picklist"):
        return Text()
    if t in ("integer", "duration"):   # a duration: whole seconds
        return BigInteger()
    if t in ("number", "currency", "percent"):
        return Numeric(o["precision"], o["scale"], asdecimal=True)
    if t == "boolean":
        return Boolean(create_constraint=False)
    if t == "date":
        return Date()
    if t == "datetime":
        return DateTime(timezone=True)
    if t == "time":
        return Time()
    if t in ("lookup", "master_detail", "file", "image"):
        return Uuid()
    if t == "json":
        return JSON()
    raise ValueError(f"field type {t!r} is not stored")


def geo_columns(field: FieldDef) -> list[Column]:
    """A geolocation's two columns: NUMERIC(scale + 3, scale) latitude and longitude."""
    scale = field.options.get("scale", DEFAULT_SCALE)
    return [Column(name, Numeric(scale + 3, scale, asdecimal=True), nullable=True) for name in column_names(field.name)]


def geo_check(table_name: str, field: FieldDef, columns=None) -> CheckConstraint:
    """Both parts or neither, each within its range: the database's own guard beside the record
    service's check (named ck_<table>_<field>_geo by the naming convention)."""
    lat, lng = columns if columns is not None else (column(n) for n in column_names(field.name))
    both = and_(lat.isnot(None), lng.isnot(None), lat.between(-LIMITS["latitude"], LIMITS["latitude"]),
                lng.between(-LIMITS["longitude"], LIMITS["longitude"]))
    return CheckConstraint(or_(and_(lat.is_(None), lng.is_(None)), both), name=f"{field.name}_geo")


def related_columns(field: FieldDef) -> list[Column]:
    """A related_to field's two columns: the object's name and the record's id. No foreign key
    (the id may be any of several tables'): the record service checks the reference and clears
    or cascades on the parent's delete (records/related.py)."""
    object_column, id_column = related.column_names(field.name)
    return [Column(object_column, String(80), nullable=True), Column(id_column, Uuid(), nullable=True)]


def field_columns(obj: ObjectDef, field: FieldDef) -> list[Column]:
    """The columns of a stored field: one, or a geolocation's or a related_to's two."""
    if field.type == "geolocation":
        return geo_columns(field)
    if field.type == "related_to":
        return related_columns(field)
    return [field_column(obj, field)]


def field_column(obj: ObjectDef, field: FieldDef) -> Column:
    """The column for a stored field. NOT NULL is enforced by the record service, not the column,
    so making a field required never needs a table rewrite (SQLite) and old rows stay readable."""
    args = []
    if field.is_relation:
        args.append(ForeignKey(f"obj_{field.target}.id", ondelete=ON_DELETE[field.options["on_delete"]]))
    return Column(field.name, column_type(field), *args, nullable=True)


def system_columns() -> list[Column]:
    return [
        Column("id", Uuid, primary_key=True),
        Column("owner", Uuid, ForeignKey(f"{USER_TABLE}.id", ondelete="SET NULL"), index=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("created_by", Uuid),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("updated_by", Uuid),
        Column("row_version", Integer, nullable=False, default=1),
    ]


def field_indexes(table_name: str, field: FieldDef) -> list:
    """Index objects for a field (named by the naming convention).

    Uniqueness is a unique *index* named `uq_<table>_<field>`, not a table constraint: both
    databases enforce it the same way, and it can be added or dropped with CREATE/DROP INDEX —
    SQLite cannot ALTER constraints, so a constraint would force a table rewrite."""
    if field.type == "related_to":   # id first: serves `related_to == id` alone and with the object
        return [Index(f"ix_{table_name}_{field.name}", *reversed(related.column_names(field.name)))]
    if field.unique:
        return [Index(f"uq_{table_name}_{field.name}", field.name, unique=True)]
    if field.indexed:
        return [Index(f"ix_{table_name}_{field.name}", field.name)]
    return []


POSITION = "position"


def row_items(obj: ObjectDef) -> list:
    """A rows child object (records/rows.py): its `position` column (1..n per parent; nullable, so
    the change pipeline adds it without a table rewrite and numbers existing rows itself) and an
    index on each parent key with the position (a parent's rows, in order)."""
    if not obj.row_links:
        return []
    return [Column(POSITION, Integer, nullable=True)] + [
        Index(f"ix_{obj.table_name}_{link}_{POSITION}", link, POSITION) for link in obj.row_links]


def one_parent_check(obj: ObjectDef) -> CheckConstraint | None:
    """With several master_detail fields, exactly one is set per row (a child of one of several
    parents) — the record service says so first, naming the fields; this keeps storage honest.
    Named ck_<table>_one_parent by the naming convention."""
    parents = obj.one_parent
    if not parents:
        return None
    count = sum((case((column(p).isnot(None), 1), else_=0) for p in parents[1:]),
                case((column(parents[0]).isnot(None), 1), else_=0))
    return CheckConstraint(count == 1, name=conv(one_parent_name(obj.table_name)))


def one_parent_name(table_name: str) -> str:
    return f"ck_{table_name}_one_parent"


def build_table(obj: ObjectDef, metadata: MetaData) -> Table:
    cols = system_columns() + [c for f in obj.stored_fields for c in field_columns(obj, f)]
    extras = [ix for f in obj.stored_fields for ix in field_indexes(obj.table_name, f)]
    by_name = {c.name: c for c in cols}
    extras += [geo_check(obj.table_name, f, [by_name[n] for n in column_names(f.name)])
               for f in obj.stored_fields if f.type == "geolocation"]
    extras += row_items(obj)
    check = one_parent_check(obj)
    if check is not None:
        extras.append(check)
    # created_at + id: the default sort and the keyset pagination key
    extras.append(Index(f"ix_{obj.table_name}_created_at_id", "created_at", "id"))
    return Table(obj.table_name, metadata, *cols, *extras)


def build_tables(md: Metadata) -> tuple[MetaData, dict[str, Table]]:
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    tables = {name: build_table(obj, metadata) for name, obj in md.objects.items()}
    return metadata, tables
