"""The SQLAlchemy type each expression type is selected as (so results come back as the right
Python types: Date → date, Numeric → Decimal, Boolean → bool)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Numeric, Text, Time, Uuid
from sqlalchemy.types import JSON, NullType, TypeEngine

from . import types as t


def sql_type(kind: str) -> TypeEngine:
    if kind == t.TEXT:
        return Text()
    if kind == t.INTEGER:
        return BigInteger()
    if kind == t.NUMBER:
        return Numeric(asdecimal=True)
    if kind == t.BOOLEAN:
        return Boolean()
    if kind == t.DATE:
        return Date()
    if kind == t.DATETIME:
        return DateTime(timezone=True)
    if kind == t.TIME:
        return Time()
    if kind == t.ID:
        return Uuid()
    if kind == t.IMAGE:   # IMAGE()'s JSON object, read back as a dict (expr/images.py)
        return JSON()
    return NullType()
