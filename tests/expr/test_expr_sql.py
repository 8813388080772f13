"""SQL compilation on real databases (SQLite always, PostgreSQL when configured): the same answers
as Python evaluation, typed results, filters, and no user text in the SQL."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal

import pytest
from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql, sqlite

from tessera.expr import ExprError, compile_expression

import test_expr_python as python_cases
from expr_db import FIELDS, resolve_type

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal")

NOW = python_cases.NOW
D = Decimal


def rows_of(fields: dict) -> list[dict]:
    return [{tuple(name.split("__")): value for name, value in fields.items()}]


def _storable(fields: dict) -> bool:
    """Whether the test table can hold these values exactly (Numeric(18, 2) / (5, 2), UTC datetimes)."""
    for name, value in fields.items():
        if isinstance(value, (Decimal, float)) and name in ("amount", "rate"):
            value = Decimal(repr(value)) if isinstance(value, float) else value
            limit = 10**16 if name == "amount" else 10**3
            if value != value.quantize(Decimal("0.01")) or abs(value) >= limit:
                return False
    return True


def same(kind, expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if kind in ("integer", "number"):
        # 1e-15 relative: SQLite computes in binary floating point (about 16 significant digits).
        return abs(Decimal(expected) - Decimal(actual)) <= Decimal("1e-9") + abs(Decimal(expected)) * Decimal("1e-15")
    if kind == "datetime" and actual.tzinfo is None:
        actual = actual.replace(tzinfo=timezone.utc)
    return expected == actual and type(expected) is type(actual)


CASES = [case for table in (python_cases.test_operators, python_cases.test_conditions, python_cases.test_functions)
         for case in table.pytestmark[0].args[1]]


@pytest.mark.parametrize("text, fields, result", [c for c in CASES if _storable(c[1])],
                         ids=[c[0] for c in CASES if _storable(c[1])])
def test_sql_gives_the_documented_result(db, text, fields, result):
    compiled = compile_expression(text, resolve_type)
    [got] = db.run(compiled, rows_of(fields), now=NOW)
    assert same(compiled.type, result, got), (got, result)


@pytest.mark.parametrize("text, fields, result", [
    # Exact decimal answers even where SQLite computes in binary floating point.
    ("amount + 0.1 == 0.3", {"amount": D("0.2")}, True),
    ("amount * 3 == 0.3", {"amount": D("0.1")}, True),
    ("amount - 0.2 >= 0.1", {"amount": D("0.3")}, True),
    ("amount - 0.2 < 0.1", {"amount": D("0.3")}, False),
    ("(amount + rate) - amount == rate", {"amount": D("1000000.01"), "rate": D("0.07")}, True),
    ("amount * 3 in [0.3, 7]", {"amount": D("0.1")}, True),
    ("amount / 3 * 3 == amount", {"amount": D("1")}, True),  # 0.9999999999: computed, within tolerance
    ("amount / 3 * 3 < amount", {"amount": D("1")}, False),
    ("amount + 0.000000002 > amount", {"amount": D("1")}, True),  # beyond the tolerance
    ("ROUND(amount * 1.15, 1)", {"amount": D("1")}, D("1.2")),
    ("ROUND(amount / 8, 2)", {"amount": D("0.2")}, D("0.03")),
    ("ROUND(amount, 1)", {"amount": D("0.35")}, D("0.4")),
    ("ROUND(amount, 1)", {"amount": D("-0.35")}, D("-0.4")),
    ("ROUND(amount, -1)", {"amount": D("-25")}, D("-30")),
    ("TEXT(amount * rate)", {"amount": D("0.1"), "rate": D("3")}, "0.3"),
    ("TEXT(amount + 0.2)", {"amount": D("0.1")}, "0.3"),
    ("TEXT(amount / 7)", {"amount": D("100")}, "14.2857142857"),
    ("TEXT(amount)", {"amount": D("12345678901234.56")}, "12345678901234.6"),
    ("VALUE(name) + 1", {"name": "0.2"}, D("1.2")),
    # operator precedence SQLAlchemy alone would get wrong (NOT flag IS NULL; flag = 0 = flag = 0)
    ("IF(ISBLANK(not flag), qty, 0)", {"qty": 5}, 5),
    ("(not flag) == None", {}, True),
    ("(not flag) == (not flag)", {"flag": False}, True),
    ("(not flag) != (qty > 1)", {"flag": True, "qty": 0}, False),
    ("(not flag) in [True]", {"flag": False}, True),
    # text: binary (code point) order, case-sensitive, no wildcards
    ("name < 'a'", {"name": "B"}, True), ("name < 'a'", {"name": "b"}, False), ("name > 'z'", {"name": "é"}, True),
    ("MIN(name, 'a')", {"name": "B"}, "B"), ("MAX(name, 'a')", {"name": "é"}, "é"),
    ("name == 'abc'", {"name": "ABC"}, False), ("CONTAINS(name, 'B')", {"name": "abc"}, False),
    ("CONTAINS(name, '%')", {"name": "abc"}, False), ("CONTAINS(name, 'a_c')", {"name": "abc"}, False),
    ("BEGINS(name, '_')", {"name": "abc"}, False), ("BEGINS(name, 'É')", {"name": "Éa"}, True),
    ("LOWER(name) == 'é'", {"name": "É"}, False), ("LEN(name)", {"name": "😀é"}, 2),
    # dates and datetimes (stored as text on SQLite)
    ("DAYS_BETWEEN(seen, NOW())", {"seen": datetime(2024, 2, 28, 0, 0, 1, tzinfo=timezone.utc)}, 1),
    ("DAYS_BETWEEN(NOW(), seen)", {"seen": datetime(2024, 3, 1, 0, 0, 1, tzinfo=timezone.utc)}, 1),
    ("ADD_DAYS(seen, 1) > NOW()", {"seen": datetime(2024, 2, 28, 23, 30, 15, 250001, tzinfo=timezone.utc)}, True),
    ("ADD_DAYS(due, qty)", {"due": date(2024, 1, 1), "qty": -10**12}, None),
    ("DATE(YEAR(due), MONTH(due) + 1, 31)", {"due": date(2024, 3, 5)}, None),
    ("DATE(YEAR(due), 2, 29)", {"due": date(2024, 3, 5)}, date(2024, 2, 29)),
    ("TEXT(ADD_DAYS(seen, -1))", {"seen": datetime(2024, 3, 1, 0, 0, 1, tzinfo=timezone.utc)}, "2024-02-29T00:00:01Z"),
    ("at < at", {"at": time(1, 2, 3)}, False),
])
def test_sql_and_python_agree_on_tricky_values(db, text, fields, result):
    compiled = compile_expression(text, resolve_type)
    assert compiled.evaluate(rows_of(fields)[0], now=NOW) == result
    [got] = db.run(compiled, rows_of(fields), now=NOW)
    assert same(compiled.type, result, got), (got, result)


def test_result_types(db):
    row = {("amount",): D("2.50"), ("due",): date(2024, 1, 31), ("flag",): True, ("qty",): 3,
           ("seen",): datetime(2024, 1, 1, tzinfo=timezone.utc), ("at",): time(8), ("account",): uuid.UUID(int=5)}
    for text, kind in [("amount * 2", Decimal), ("due + 1", date), ("qty > 1", bool), ("qty * 2", int),
                       ("LEN('ab')", int), ("NOW()", datetime), ("TODAY()", date), ("VALUE('1')", Decimal),
                       ("IF(flag, at, at)", time), ("BLANKVALUE(account, account)", uuid.UUID), ("TEXT(qty)", str),
                       ("qty / 2", Decimal), ("YEAR(due)", int), ("due - due", int), ("ROUND(qty, -1)", int)]:
        [value] = db.run(compile_expression(text, resolve_type), [row], now=NOW)
        assert type(value) is kind, (text, value)


def test_blank_conditions_do_not_select_rows(db):
    rows = [{("name",): "Closed Won", ("amount",): D("5")}, {("name",): "Open", ("amount",): None},
            {("name",): None, ("amount",): D("-1")}, {("name",): "", ("amount",): D("0")}]
    def where(text):
        return db.where(compile_expression(text, resolve_type, expected="boolean"), rows, now=NOW)
    assert where("not (name in ['Closed Won', 'Closed Lost'])") == [1, 3]
    assert where("amount < 0") == [2]
    assert where("not (amount < 0)") == [0, 3]
    assert where("name == None") == [2, 3]
    assert where("name != None") == [0, 1]
    assert where("ISBLANK(name) or amount > 1") == [0, 2, 3]
    assert where("name in ['Open', None]") == [1, 2, 3]
    assert where("name not in ['Open', None]") == [0]
    assert where("IF(amount > 0, True, False)") == [0]
    assert where("None") == []
    assert where("True") == [0, 1, 2, 3]


def test_ids(db):
    ids = [uuid.UUID("6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10"), uuid.UUID(int=1)]
    rows = [{("account",): ids[0]}, {("account",): ids[1]}, {}]
    def where(text):
        return db.where(compile_expression(text, resolve_type), rows, now=NOW)
    assert where("account == '6F1C1A52-5D1E-4C43-9A0E-0D6B8F1B7C10'") == [0]
    assert where(f"account == '{ids[1].hex}'") == [1]
    assert where("account != '6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10'") == [1]
    assert where(f"account in ['{uuid.UUID(int=7)}', '{ids[1]}']") == [1]
    assert where(f"account in ['{uuid.UUID(int=7)}']") == []
    assert where("account == account") == [0, 1]
    assert db.run(compile_expression("TEXT(account)", resolve_type), rows) == [str(ids[0]), str(ids[1]), None]


def test_user_text_never_becomes_sql_text():
    hostile = "x'); DROP TABLE users; --"
    compiled = compile_expression(f"name == {hostile!r} or CONTAINS(name, {hostile!r})", resolve_type)
    for dialect_name, dialect in (("sqlite", sqlite.dialect()), ("postgresql", postgresql.dialect())):
        sql = str(compiled.to_sql(lambda path: literal_column(FIELDS[path][0]), dialect_name=dialect_name)
                  .compile(dialect=dialect))
        assert "DROP" not in sql and "users" not in sql
        assert "name" in sql


def test_prior_values_are_not_sql(db):
    compiled = compile_expression("ISCHANGED(amount)", resolve_type, context="write")
    with pytest.raises(ExprError, match="cannot be used in a query"):
        compiled.to_sql(db.column_for, dialect_name=db.dialect_name)


def test_unknown_dialect():
    with pytest.raises(ExprError, match="cannot be compiled for the database 'oracle'"):
        compile_expression("qty", resolve_type).to_sql(lambda path: None, dialect_name="oracle")


def test_today_and_now_are_parameters_from_now(db):
    compiled = compile_expression("TEXT(TODAY()) + ' ' + TEXT(NOW())", resolve_type)
    late = datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert db.run(compiled, [{}], now=late) == ["2024-12-31 2024-12-31T23:59:59Z"]
    assert compiled.evaluate({}, now=late) == "2024-12-31 2024-12-31T23:59:59Z"
