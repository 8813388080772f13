"""Fiscal date buckets of the aggregate operation (records/aggregate.py): `FIELD:fiscal_quarter` and
`FIELD:fiscal_year` group by the first day of the fiscal period holding the value.

The fiscal year starts on the first day of the org's fiscal_year_start_month (org settings) and is
named by the calendar year in which it ends (expr/relative_dates.py, which filters on the same
periods); a bucket is the ISO date of the period's first day, like the calendar buckets.
"""
from __future__ import annotations

from sqlalchemy import Date, Integer, case, cast, extract, func, literal, null


def fiscal_bucket(column, months: int, start_month: int, field_type: str, dialect_name: str):
    """The first day of the `months`-month period (3: fiscal quarter, 12: fiscal year) holding
    `column`, periods being aligned on `start_month`. Computed on month numbers (year * 12 + month
    - 1), so it is the same integer arithmetic on both databases; a datetime counts by its UTC date."""
    if dialect_name == "postgresql":
        source = func.timezone("UTC", column) if field_type == "datetime" else column
        year, month = (cast(extract(part, source), Integer()) for part in ("year", "month"))
    else:   # SQLite: ISO text
        year, month = (cast(func.strftime(part, column), Integer()) for part in ("%Y", "%m"))
    # months since the first fiscal month of year 0: never negative, so % and // need no sign care
    since = year * 12 + month - literal(start_month, Integer())
    first = since - since % months + literal(start_month - 1, Integer())   # the period's first month number
    first_year, first_month = first // 12, first % 12 + 1
    if dialect_name == "postgresql":
        return func.make_date(first_year, first_month, 1, type_=Date())
    return case((column.is_(None), null()), else_=func.printf("%04d-%02d-01", first_year, first_month))
