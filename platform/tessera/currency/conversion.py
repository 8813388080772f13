"""Converting amounts between an org's currencies in SQL, at the dated rates of currency/rates.py.

A rate says how many units of a currency one unit of the corporate currency buys, so an amount in
currency A is `amount / rate(A)` in the corporate currency and `amount / rate(A) * rate(B)` in B.
The rate of a day is the latest one from on or before it; the corporate currency's is 1. Which day:
an object declaring `conversion_date` (a date field, e.g. an opportunity's close_date) converts each
record at its own date's rates — a correlated lookup per row — and a record without that date, like
every object without the property, at today's (`conversion_day`). An amount
whose currency has no rate in effect converts to NULL — never to a guess — and an aggregate over
such an amount is NULL too (see `complete_or_null`), so a total is either right or visibly blank.
"""
from __future__ import annotations

from datetime import date
from typing import Callable

from sqlalchemy import Date, Numeric, case, func, literal, select
from sqlalchemy.sql import ColumnElement

from ..storage.platform_tables import currency_rates

_RATE = Numeric(24, 12)


def conversion_day(obj, column_of: Callable[[str], ColumnElement], today: date) -> ColumnElement:
    """The day whose rates convert a record of `obj`: its `conversion_date` field's value, else today.
    `column_of(name)` is the record's column of a field."""
    if obj.conversion_date is None:
        return literal(today, Date)
    return func.coalesce(column_of(obj.conversion_date), literal(today, Date))


def rate_of(code: ColumnElement, day: date | ColumnElement, corporate: str) -> ColumnElement:
    r = currency_rates.alias()
    on = day if isinstance(day, ColumnElement) else literal(day, Date)
    latest = (select(r.c.rate).where(r.c.code == code, r.c.effective_from <= on)
              .order_by(r.c.effective_from.desc()).limit(1).scalar_subquery())
    return case((code == literal(corporate), literal(1, _RATE)), else_=latest)


def convert(amount: ColumnElement, from_code: ColumnElement, to_code: ColumnElement | None,
            day: date | ColumnElement, corporate: str) -> ColumnElement:
    """`amount` (in `from_code`) in `to_code`, or in the corporate currency when `to_code` is None,
    at the rates of `day` (a date, or a per-row date column: conversion_day)."""
    in_corporate = amount / rate_of(from_code, day, corporate)
    return in_corporate if to_code is None else in_corporate * rate_of(to_code, day, corporate)


def complete_or_null(amounts: ColumnElement, converted: ColumnElement, aggregate) -> ColumnElement:
    """aggregate(converted), or NULL when some amount could not be converted (a missing rate)."""
    return case((func.count(amounts) == func.count(converted), aggregate(converted)))
