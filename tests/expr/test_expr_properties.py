"""Property: for random records and random well-typed expressions, the SQL compilation selected on
each row equals the Python evaluation of that row — on SQLite and on PostgreSQL.

The generator builds expression *text* over the test table's fields and the whole function
library, typed by construction (expressions(kind, depth) only produces expressions of `kind`).
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tessera.expr import compile_expression
from tessera.expr.relative_dates import PERIODS

from expr_db import resolve_type

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal")

IDS = [uuid.UUID("6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10"), uuid.UUID("00000000-0000-4000-8000-000000000001")]
NOW = datetime(2024, 2, 29, 23, 30, 15, 250000, tzinfo=timezone.utc)

FIELDS_OF = {
    "text": ["name", "notes", "account.industry"],
    "integer": ["qty"],
    "number": ["amount", "rate"],
    "boolean": ["flag"],
    "date": ["due"],
    "datetime": ["seen"],
    "time": ["at"],
    "id": ["account"],
}
ORDERED = ["integer", "number", "text", "date", "datetime", "time"]
KINDS = list(FIELDS_OF)

# -- records -----------------------------------------------------------------------------------

_characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")  # PostgreSQL text has no NUL
texts = st.one_of(
    st.sampled_from(["", "a", "A", "abc", "Abc", " 12.5 ", "-3", "+.5", "1.2.3", "x%_", "É", "ß", "ǅ", "😀", "10"]),
    st.text(_characters, max_size=8),
)
integers = st.one_of(st.integers(-1_000_000, 1_000_000),
                     st.sampled_from([0, 1, -1, 2, 3, 12, 25, -25, 31, 150, 2**31, 10**9]))
# Besides random decimals, values whose sums and products are inexact in binary floating point
# (what SQLite computes in), so exact-decimal ties actually occur.
# Halves (2.5, 0.05, 1.15) tell rounding modes apart.
_tricky = st.sampled_from([Decimal(v) for v in ("0.1", "0.2", "0.3", "0.7", "1.15", "2.5", "-0.5", "0.05", "-0.25",
                                                "3", "1000000.01", "999999.99", "-0.01", "0", "150")])
amounts = st.one_of(_tricky, _tricky, st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2,
                                         allow_nan=False, allow_infinity=False))
rates = st.one_of(_tricky.filter(lambda v: abs(v) < 1000),
                  st.decimals(min_value=-999, max_value=999, places=2, allow_nan=False, allow_infinity=False))
UTC = st.just(timezone.utc)


def _maybe(strategy):
    return st.one_of(st.none(), strategy)


records = st.fixed_dictionaries({
    ("name",): _maybe(texts),
    ("notes",): _maybe(texts),
    ("account", "industry"): _maybe(texts),
    ("qty",): _maybe(integers),
    ("amount",): _maybe(amounts),
    ("rate",): _maybe(rates),
    ("flag",): _maybe(st.booleans()),
    ("due",): _maybe(st.dates()),
    ("seen",): _maybe(st.datetimes(timezones=UTC)),
    ("at",): _maybe(st.times()),
    ("account",): _maybe(st.sampled_from(IDS)),
})

# -- expressions -------------------------------------------------------------------------------


def _literal(kind):
    if kind == "text":
        return texts.map(repr)
    if kind == "integer":
        return st.one_of(st.integers(-40, 40), st.sampled_from([0, 1, 100, 1000, 10**6])).map(lambda v: f"({v})")
    if kind == "number":
        return st.one_of(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
                         st.sampled_from([Decimal("0.1"), Decimal("0.2"), Decimal("0.3"), Decimal("0.5"),
                                          Decimal("2.5"), Decimal("0.05")])).map(lambda v: f"({v:f})" if "." in f"{v:f}" else f"({v:f}.0)")
    if kind == "boolean":
        return st.sampled_from(["True", "False"])
    if kind == "date":
        return st.one_of(st.dates().map(lambda d: f"DATE({d.year}, {d.month}, {d.day})"), st.just("TODAY()"))
    if kind == "datetime":
        return st.just("NOW()")
    return st.nothing()


def _call(name, *args):
    return st.tuples(*args).map(lambda parts: f"{name}({', '.join(parts)})")


def _infix(template, *args):
    return st.tuples(*args).map(lambda parts: "(" + template.format(*parts) + ")")


@lru_cache(maxsize=None)
def expressions(kind: str, depth: int):
    leaves = [st.sampled_from(FIELDS_OF[kind])]
    if kind != "id":
        leaves.append(_literal(kind))
    leaf = st.one_of(*leaves)
    if depth == 0:
        return leaf

    def sub(k):
        return expressions(k, depth - 1)

    numeric = st.one_of(sub("integer"), sub("number"))
    date_like = st.one_of(sub("date"), sub("datetime"))
    anything = st.sampled_from(KINDS).flatmap(sub)
    same = [
        _call("IF", sub("boolean"), sub(kind), sub(kind)),
        _call("IF", sub("boolean"), st.just("None"), sub(kind)),
        _call("BLANKVALUE", sub(kind), sub(kind)),
    ]
    if kind in ORDERED:
        same += [_call("MIN", sub(kind), sub(kind)), _call("MAX", sub(kind), sub(kind), sub(kind))]
    options = {
        "text": [
            _infix("{} + {}", sub("text"), sub("text")),
            _call("LOWER", sub("text")), _call("UPPER", sub("text")),
            anything.map(lambda e: f"TEXT({e})"),
        ],
        "integer": [
            _infix("{} + {}", sub("integer"), sub("integer")),
            _infix("{} - {}", sub("integer"), sub("integer")),
            _infix("{} * {}", sub("integer"), sub("integer")),
            sub("integer").map(lambda e: f"(-{e})"),
            _call("LEN", sub("text")),
            _call("YEAR", date_like), _call("MONTH", date_like), _call("DAY", date_like),
            _call("DAYS_BETWEEN", date_like, date_like),
            _infix("{} - {}", sub("date"), sub("date")),
            _call("ROUND", sub("integer"), st.sampled_from(["-1", "-2", "0", "1"])),
            _call("ABS", sub("integer")),
        ],
        "number": [
            _infix("{} + {}", sub("number"), numeric),
            _infix("{} - {}", numeric, sub("number")),
            _infix("{} * {}", sub("number"), numeric),
            _infix("{} / {}", numeric, numeric),
            sub("number").map(lambda e: f"(-{e})"),
            _call("VALUE", sub("text")),
            _call("ROUND", sub("number"), st.sampled_from(["-2", "-1", "0", "1", "2", "3"])),
            _call("ROUND", sub("number")),
            _call("ABS", sub("number")),
            _call("MIN", sub("number"), numeric),
            _call("IF", sub("boolean"), sub("number"), sub("integer")),
        ],
        "boolean": [
            st.sampled_from(ORDERED).flatmap(
                lambda k: _infix("{} " + "{}" + " {}", sub(k), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
                                 sub(k))),
            _infix("{} {} {}", numeric, st.sampled_from(["==", "<", ">="]), numeric),
            _infix("{} < {} <= {}", numeric, numeric, numeric),
            _infix("{} == {}", sub("boolean"), sub("boolean")),
            _infix("account {} {}", st.sampled_from(["==", "!="]),
                   st.sampled_from([repr(str(i)) for i in IDS] + [repr(IDS[0].hex.upper())])),
            _infix("{} and {}", sub("boolean"), sub("boolean")),
            _infix("{} or {}", sub("boolean"), sub("boolean")),
            sub("boolean").map(lambda e: f"(not {e})"),
            # Salesforce-style aliases: the same tree, so the same SQL and Python.
            _infix("{} && {}", sub("boolean"), sub("boolean")),
            _infix("{}||{}", sub("boolean"), sub("boolean")),
            _call("AND", sub("boolean"), sub("boolean"), sub("boolean")),
            _call("Or", sub("boolean"), sub("boolean")),
            _call("NOT", sub("boolean")),
            anything.map(lambda e: f"ISBLANK({e})"),
            anything.map(lambda e: f"({e} == None)"),
            anything.map(lambda e: f"({e} != None)"),
            st.sampled_from(["text", "integer", "number", "date"]).flatmap(
                lambda k: _infix("{} {} [{}, {}{}]", sub(k), st.sampled_from(["in", "not in"]), _literal(k),
                                 sub(k), st.sampled_from(["", ", None"]))),
            _call("CONTAINS", sub("text"), sub("text")),
            _call("BEGINS", sub("text"), sub("text")),
            st.sampled_from(sorted(PERIODS)).flatmap(lambda name: _call(
                name, date_like, *([st.sampled_from(["0", "1", "30", "400"])] if PERIODS[name].count else []))),
        ],
        "date": [
            _call("ADD_DAYS", sub("date"), sub("integer")),
            _infix("{} + {}", sub("date"), sub("integer")),
            _infix("{} - {}", sub("date"), sub("integer")),
            _call("DATE", sub("integer"), sub("integer"), sub("integer")),
            _call("DATE", st.just("YEAR(due)"), sub("integer"), st.integers(1, 31).map(str)),
            _call("DATEVALUE", sub("datetime")),
        ],
        "datetime": [_call("ADD_DAYS", sub("datetime"), sub("integer"))],
        "time": [],
        "id": [],
    }[kind]
    return st.one_of(leaf, *same, *options)


any_expression = st.tuples(st.sampled_from(KINDS), st.integers(0, 3)).flatmap(lambda kd: expressions(*kd))

# -- comparison --------------------------------------------------------------------------------


def _tolerance(dialect_name: str, expected: Decimal) -> Decimal:
    # PostgreSQL is exact (numeric); SQLite computes in binary floating point (~15-16 digits).
    if dialect_name == "postgresql":
        return Decimal("1e-9") + abs(expected) * Decimal("1e-20")
    return Decimal("1e-6") + abs(expected) * Decimal("1e-9")


def _agree(kind: str, expected, actual, dialect_name: str) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if kind in ("integer", "number"):
        return abs(Decimal(expected) - Decimal(actual)) <= _tolerance(dialect_name, Decimal(expected))
    if kind == "datetime" and actual.tzinfo is None:
        actual = actual.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    if kind == "id":
        return str(expected) == str(actual)
    return expected == actual


# TESSERA_EXPR_EXAMPLES raises the count for a longer local hunt.
@settings(max_examples=int(os.environ.get("TESSERA_EXPR_EXAMPLES", "400")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(texts=st.lists(any_expression, min_size=1, max_size=6), rows=st.lists(records, min_size=3, max_size=8))
def test_sql_agrees_with_python(db, texts, rows):
    # Several expressions per example, selected together: more checks for each round trip.
    compiled = [compile_expression(text, resolve_type) for text in texts]
    actual = db.run_many(compiled, rows, now=NOW)
    for row, got_row in zip(rows, actual):
        for expression, got in zip(compiled, got_row):
            want = expression.evaluate(row, now=NOW)
            assert _agree(expression.type, want, got, db.dialect_name), (
                f"{db.dialect_name}: {expression.text}\n  row: {row}\n  python: {want!r}\n  sql: {got!r}")
    for expression in compiled:
        if expression.type == "boolean":  # as a filter, blank counts as false
            expected = [i for i, row in enumerate(rows) if expression.evaluate(row, now=NOW) is True]
            assert db.where(expression, rows, now=NOW) == expected, expression.text
            break
