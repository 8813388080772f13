"""Which column says an exported amount's currency.

An amount of a multi-currency object is in its record's currency, not the corporate one: an export
that wrote it as a bare number would be read as corporate money. Exports follow Salesforce's
report exports: each such amount column is preceded by a "<label> Currency" column holding the
record's ISO code (EUR, JPY), so the figure stays a plain number a spreadsheet can sum per code.
"""
from __future__ import annotations

from ..meta.currencies import CURRENCY_FIELD
from ..meta.reports import path_type

CODE_COLUMN_SUFFIX = " Currency"


def currency_path(md, obj, path: str) -> str | None:
    """The path of the currency code of the amount at `path` ("account.currency_code" for
    "account.annual_revenue"), or None when that amount is not in a record's own currency."""
    parts = tuple(path.split("."))
    steps = md.resolve_path(obj, parts)
    if not steps or path_type(md, obj, parts) != "currency":
        return None
    owner, _name = steps[-1]
    return ".".join([*parts[:-1], CURRENCY_FIELD]) if owner.multi_currency else None


def code_header(label: str) -> str:
    return label + CODE_COLUMN_SUFFIX
