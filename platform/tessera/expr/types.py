"""Expression types: the names, which ones mix, and how field types map onto them.

Types are plain strings so that callers (metadata validation, the record service) can name them
without importing anything. "null" is the type of the literal None: it fits everywhere.
"""
from __future__ import annotations

TEXT = "text"
INTEGER = "integer"
NUMBER = "number"
BOOLEAN = "boolean"
DATE = "date"
DATETIME = "datetime"
TIME = "time"
ID = "id"
NULL = "null"
GEOLOCATION = "geolocation"   # a point (meta/geolocations.py): no operators, only the geo functions
IMAGE = "image"   # a picture made by IMAGE() (expr/images.py): only a formula's result, never compared

EXPRESSION_TYPES = frozenset({TEXT, INTEGER, NUMBER, BOOLEAN, DATE, DATETIME, TIME, ID, NULL, GEOLOCATION, IMAGE})
NUMERIC = frozenset({INTEGER, NUMBER})
DATE_LIKE = frozenset({DATE, DATETIME})
# Types with an order: usable with < <= > >= and in MIN / MAX.
ORDERED = frozenset({INTEGER, NUMBER, TEXT, DATE, DATETIME, TIME})

# Metadata field types accepted wherever an expression type is expected, so a caller may pass a
# field's own type as `expected` (or return it from resolve_type) without translating it first.
_FIELD_TYPE_ALIASES = {
    "textarea": TEXT, "rich_text": TEXT, "email": TEXT, "phone": TEXT, "url": TEXT,
    "picklist": TEXT, "multi_picklist": TEXT, "autonumber": TEXT,
    "currency": NUMBER, "percent": NUMBER,
    "lookup": ID, "master_detail": ID, "file": ID,
    "duration": INTEGER,   # seconds
}


def normalize_type(name: str) -> str:
    """The expression type for an expression type or metadata field type name."""
    if name in EXPRESSION_TYPES:
        return name
    try:
        return _FIELD_TYPE_ALIASES[name]
    except (KeyError, TypeError):
        raise ValueError(f"{name!r} is not an expression type") from None


def describe(type_name: str) -> str:
    """A type as error messages show it."""
    return "None" if type_name == NULL else type_name


def describe_operand(type_name: str) -> str:
    """A type as operator error messages show it: integer and number mix there, so both are "number"."""
    return NUMBER if type_name == INTEGER else describe(type_name)


def unify(a: str, b: str) -> str | None:
    """The common type of two values that may stand in for each other (IF branches, MIN args),
    or None when they cannot. integer and number mix (as number); None fits anything."""
    if a == NULL:
        return b
    if b == NULL or a == b:
        return a
    if a in NUMERIC and b in NUMERIC:
        return NUMBER
    return None


def fits(actual: str, expected: str) -> bool:
    """Whether a result of type `actual` may be used where `expected` is required."""
    if actual == NULL or actual == expected:
        return True
    if actual in NUMERIC and expected in NUMERIC:
        return True
    return actual == TEXT and expected == ID  # an id given as text, e.g. a default owner id
