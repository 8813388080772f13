"""Python evaluation: every operator and function, and the blank (NULL) semantics."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from tessera.expr import compile_expression

from expr_db import resolve_type

NOW = datetime(2024, 2, 29, 23, 30, 15, 250000, tzinfo=timezone.utc)
ID = uuid.UUID("6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10")


def ev(text, *, prior=None, now=NOW, context="read", **fields):
    """Evaluate with fields given by name (account__industry for account.industry)."""
    values = {tuple(name.split("__")): value for name, value in fields.items()}
    compiled = compile_expression(text, resolve_type, context=context)
    return compiled.evaluate(values, prior=prior, now=now)


D = Decimal


@pytest.mark.parametrize("text, fields, result", [
    # arithmetic
    ("qty + 2", {"qty": 3}, 5), ("qty - 5", {"qty": 3}, -2), ("qty * qty", {"qty": -3}, 9),
    ("qty / 2", {"qty": 3}, D("1.5")), ("qty / 3", {"qty": 2}, D("0.6666666667")), ("-qty", {"qty": 3}, -3),
    ("amount * 2", {"amount": D("1.25")}, D("2.50")), ("amount + qty", {"amount": D("0.5"), "qty": 1}, D("1.5")),
    ("amount / 0", {"amount": D("1")}, None), ("qty / 0", {"qty": 0}, None),
    ("amount + 0.1", {"amount": 0.2}, D("0.3")),  # floats are read as the decimal they print as
    ("qty * 9223372036854775807", {"qty": 2}, None),  # beyond 64 bits: blank
    ("qty * 9223372036854775807 / 4", {"qty": 2}, D("4611686018427387903.5")),
    # blanks propagate
    ("qty + 1", {}, None), ("amount * 2", {"amount": None}, None), ("-qty", {}, None),
    # text
    ("name + '!'", {"name": "hi"}, "hi!"), ("name + '!'", {}, "!"), ("name + notes", {}, ""),
    ("name + None", {"name": "a"}, "a"),
    # dates
    ("due + 1", {"due": date(2024, 2, 28)}, date(2024, 2, 29)), ("due - 1", {"due": date(2024, 3, 1)}, date(2024, 2, 29)),
    ("1 + due", {"due": date(2024, 1, 1)}, date(2024, 1, 2)),
    ("due - DATE(2024, 1, 1)", {"due": date(2024, 3, 1)}, 60), ("due + qty", {"due": date(2024, 1, 1)}, None),
    ("due - 1", {"due": date(1, 1, 1)}, None), ("due + 1", {"due": date(9999, 12, 31)}, None),
])
def test_operators(text, fields, result):
    got = ev(text, **fields)
    assert got == result and type(got) is type(result)


@pytest.mark.parametrize("text, fields, result", [
    ("qty > 1", {"qty": 2}, True), ("qty > 1", {}, None), ("qty == None", {}, True), ("qty != None", {}, False),
    ("None == qty", {"qty": 1}, False), ("name == None", {"name": ""}, True),
    ("1 < qty < 5", {"qty": 3}, True), ("1 < qty < 5", {"qty": 5}, False), ("1 < qty < 5", {}, None),
    ("amount == 1", {"amount": D("1.00")}, True), ("qty == 1.0", {"qty": 1}, True),
    ("name < 'b'", {"name": "B"}, True), ("name < 'b'", {"name": "é"}, False), ("name == 'A'", {"name": "a"}, False),
    ("due < TODAY()", {"due": date(2024, 2, 28)}, True), ("seen <= NOW()", {"seen": NOW}, True),
    ("seen == NOW()", {"seen": NOW.replace(tzinfo=None)}, True),  # naive datetimes are UTC
    ("at > at", {"at": time(1)}, False), ("flag == True", {"flag": True}, True), ("flag != False", {}, None),
    # three-valued logic
    ("flag and qty > 1", {"flag": False}, False), ("flag and qty > 1", {"flag": True}, None),
    ("flag or qty > 1", {"flag": True}, True), ("flag or qty > 1", {"flag": False}, None),
    ("not flag", {}, None), ("not flag", {"flag": False}, True),
    # in / not in
    ("name in ['a', 'b']", {"name": "b"}, True), ("name in ['a', 'b']", {"name": "c"}, False),
    ("name in ['a', 'b']", {}, None), ("name not in ['a', 'b']", {}, None), ("name not in ['a']", {"name": "b"}, True),
    ("name in ['a', None]", {}, True), ("name in ['a', None]", {"name": ""}, True),
    ("name not in ['a', None]", {}, False), ("qty in [1, 2.5]", {"qty": 1}, True), ("qty in []", {"qty": 1}, False),
    ("qty in [1, qty + 1]", {"qty": 2}, False), ("qty in [1, amount]", {"qty": 2}, None),
    # ids
    ("account == '6F1C1A52-5D1E-4C43-9A0E-0D6B8F1B7C10'", {"account": ID}, True),
    ("account == '6f1c1a525d1e4c439a0e0d6b8f1b7c10'", {"account": str(ID)}, True),
    ("account != '00000000-0000-4000-8000-000000000001'", {"account": ID}, True),
    ("account in ['00000000-0000-4000-8000-000000000001', '6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10']", {"account": ID}, True),
    ("account == None", {}, True),
])
def test_conditions(text, fields, result):
    assert ev(text, **fields) is result


@pytest.mark.parametrize("text, fields, result", [
    ("IF(flag, 'y', 'n')", {"flag": True}, "y"), ("IF(flag, 'y', 'n')", {"flag": False}, "n"),
    ("IF(flag, 'y', 'n')", {}, "n"),  # a blank condition takes the else branch
    ("IF(flag, qty, 1.5)", {"flag": True, "qty": 2}, D(2)),
    ("ISBLANK(name)", {}, True), ("ISBLANK(name)", {"name": ""}, True), ("ISBLANK(name)", {"name": " "}, False),
    ("ISBLANK(qty)", {"qty": 0}, False), ("ISBLANK(account)", {}, True),
    ("BLANKVALUE(name, 'x')", {"name": ""}, "x"), ("BLANKVALUE(name, 'x')", {"name": "a"}, "a"),
    ("BLANKVALUE(qty, 0)", {}, 0), ("BLANKVALUE(qty, amount)", {"qty": 3}, D(3)),
    ("TODAY()", {}, date(2024, 2, 29)), ("NOW()", {}, NOW),
    ("DATE(2024, 2, 29)", {}, date(2024, 2, 29)), ("DATE(2023, 2, 29)", {}, None), ("DATE(2024, 13, 1)", {}, None),
    ("DATE(0, 1, 1)", {}, None), ("DATE(qty, 1, 1)", {}, None),
    ("DATEVALUE(seen)", {"seen": datetime(2024, 1, 1, 23, tzinfo=timezone(timedelta(hours=-5)))}, date(2024, 1, 2)),
    ("YEAR(due)", {"due": date(2024, 3, 5)}, 2024), ("MONTH(due)", {"due": date(2024, 3, 5)}, 3),
    ("DAY(due)", {"due": date(2024, 3, 5)}, 5), ("DAY(seen)", {"seen": datetime(2024, 3, 5, 23, 59)}, 5),
    ("YEAR(seen)", {"seen": datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=3)))}, 2023),
    ("ADD_DAYS(due, 30)", {"due": date(2024, 2, 1)}, date(2024, 3, 2)),
    ("ADD_DAYS(due, -1)", {"due": date(2024, 3, 1)}, date(2024, 2, 29)),
    ("ADD_DAYS(seen, 1)", {"seen": datetime(2024, 3, 30, 12, 5, tzinfo=timezone.utc)},
     datetime(2024, 3, 31, 12, 5, tzinfo=timezone.utc)),
    ("ADD_DAYS(due, 100000000000)", {"due": date(2024, 1, 1)}, None),
    ("DAYS_BETWEEN(due, TODAY())", {"due": date(2024, 2, 1)}, 28),
    ("DAYS_BETWEEN(seen, due)", {"seen": datetime(2024, 1, 1, 23, 59), "due": date(2024, 1, 2)}, 1),
    ("LEN(name)", {"name": "héllo😀"}, 6), ("LEN(name)", {"name": ""}, 0), ("LEN(name)", {}, None),
    ("LOWER(name)", {"name": "ÀBC Déf"}, "Àbc déf"), ("UPPER(name)", {"name": "straße é"}, "STRAßE é"),
    ("CONTAINS(name, 'b')", {"name": "abc"}, True), ("CONTAINS(name, 'B')", {"name": "abc"}, False),
    ("CONTAINS(name, '%')", {"name": "abc"}, False), ("CONTAINS(name, '_')", {"name": "a_c"}, True),
    ("CONTAINS(name, '')", {"name": "abc"}, True), ("CONTAINS(name, 'a')", {}, None),
    ("BEGINS(name, 'ab')", {"name": "abc"}, True), ("BEGINS(name, 'AB')", {"name": "abc"}, False),
    ("BEGINS(name, 'abcd')", {"name": "abc"}, False), ("BEGINS(name, '')", {"name": ""}, True),
    ("ROUND(amount, 1)", {"amount": D("2.25")}, D("2.3")), ("ROUND(amount, 1)", {"amount": D("-2.25")}, D("-2.3")),
    ("ROUND(amount)", {"amount": D("2.5")}, D("3")), ("ROUND(amount, 0)", {"amount": D("-0.5")}, D("-1")),
    ("ROUND(amount, -2)", {"amount": D("1250")}, D("1300")), ("ROUND(qty, -1)", {"qty": -15}, -20),
    ("ROUND(qty, 2)", {"qty": 7}, 7), ("ROUND(amount, 1)", {"amount": 0.25}, D("0.3")),
    ("ABS(qty)", {"qty": -3}, 3), ("ABS(amount)", {"amount": D("-1.5")}, D("1.5")),
    ("MIN(qty, 2)", {"qty": 5}, 2), ("MAX(qty, 2, 7)", {"qty": 5}, 7), ("MIN(qty, 2)", {}, None),
    ("MIN(qty, 2.5)", {"qty": 1}, D(1)), ("MAX(name, 'b')", {"name": "a"}, "b"), ("MIN(name, 'B')", {"name": "a"}, "B"),
    ("MAX(due, TODAY())", {"due": date(2030, 1, 1)}, date(2030, 1, 1)),
    ("TEXT(qty)", {"qty": -12}, "-12"), ("TEXT(amount)", {"amount": D("1.50")}, "1.5"),
    ("TEXT(amount)", {"amount": D("100")}, "100"), ("TEXT(amount)", {"amount": D("-0.001")}, "-0.001"),
    ("TEXT(1 / 3)", {}, "0.3333333333"), ("TEXT(amount)", {"amount": D("123456789012.345678")}, "123456789012.346"),
    ("TEXT(amount)", {"amount": D("-0.00000000001")}, "0"), ("TEXT(amount)", {"amount": D("1E+20")}, "100000000000000000000"),
    ("TEXT(flag)", {"flag": True}, "true"), ("TEXT(flag)", {"flag": False}, "false"), ("TEXT(flag)", {}, None),
    ("TEXT(due)", {"due": date(987, 6, 5)}, "0987-06-05"),
    ("TEXT(seen)", {"seen": datetime(2024, 1, 2, 3, 4, 5, 600, tzinfo=timezone(timedelta(hours=1)))},
     "2024-01-02T02:04:05Z"),
    ("TEXT(at)", {"at": time(9, 8, 7, 6)}, "09:08:07"), ("TEXT(account)", {"account": ID}, str(ID)),
    ("TEXT(name)", {"name": "x"}, "x"), ("TEXT(None)", {}, None),
    ("VALUE(name)", {"name": " 12.50 "}, D("12.50")), ("VALUE(name)", {"name": "-.5"}, D("-0.5")),
    ("VALUE(name)", {"name": "+3."}, D("3")), ("VALUE(name)", {"name": "1e3"}, None),
    ("VALUE(name)", {"name": "1.2.3"}, None), ("VALUE(name)", {"name": ""}, None), ("VALUE(name)", {"name": "٣"}, None),
    ("VALUE(name)", {"name": "12\n"}, None), ("VALUE(name)", {"name": "-"}, None),
])
def test_functions(text, fields, result):
    got = ev(text, **fields)
    assert got == result and type(got) is type(result), (got, result)


def test_ischanged_and_priorvalue():
    rule = compile_expression("ISCHANGED(amount) and PRIORVALUE(amount) > amount", resolve_type, context="write")
    assert rule.evaluate({("amount",): D("5")}, prior={("amount",): D("7")}) is True
    assert rule.evaluate({("amount",): D("7")}, prior={("amount",): D("7.00")}) is False
    assert rule.evaluate({("amount",): D("5")}, prior=None) is False  # a create: nothing changed
    changed = compile_expression("ISCHANGED(name)", resolve_type, context="write")
    assert changed.evaluate({("name",): ""}, prior={("name",): None}) is False
    assert changed.evaluate({("name",): "a"}, prior={}) is True
    assert compile_expression("PRIORVALUE(name)", resolve_type, context="write").evaluate({("name",): "a"}) is None
    ids = compile_expression("ISCHANGED(account)", resolve_type, context="write")
    assert ids.evaluate({("account",): ID}, prior={("account",): str(ID)}) is False


def test_now_defaults_to_the_current_time_and_naive_now_is_utc():
    today = compile_expression("TODAY()", resolve_type).evaluate({})
    assert today == datetime.now(timezone.utc).date()
    assert compile_expression("NOW()", resolve_type).evaluate({}, now=datetime(2024, 1, 1, 5)) == \
        datetime(2024, 1, 1, 5, tzinfo=timezone.utc)
    late = datetime(2024, 1, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert compile_expression("TODAY()", resolve_type).evaluate({}, now=late) == date(2024, 1, 2)


def test_missing_values_are_blank():
    assert ev("ISBLANK(account.industry)") is True
