"""Type checking: result types, clear messages for type errors, contexts and expected types."""
from __future__ import annotations

import pytest

from tessera.expr import ExprError, compile_expression

from expr_db import resolve_type


def compile_(text, **kwargs):
    return compile_expression(text, resolve_type, **kwargs)


def message_of(text, **kwargs) -> str:
    with pytest.raises(ExprError) as caught:
        compile_(text, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize("text, kind", [
    ("name", "text"), ("qty", "integer"), ("amount", "number"), ("flag", "boolean"), ("due", "date"),
    ("seen", "datetime"), ("at", "time"), ("account", "id"), ("None", "null"),
    ("qty + qty", "integer"), ("qty * 2", "integer"), ("qty / 2", "number"), ("qty + 1.5", "number"),
    ("-qty", "integer"), ("name + 'x'", "text"), ("name + None", "text"),
    ("due + 1", "date"), ("1 + due", "date"), ("due - 1", "date"), ("due - due", "integer"),
    ("qty > 1", "boolean"), ("name == None", "boolean"), ("qty in [1, 2]", "boolean"),
    ("IF(flag, qty, amount)", "number"), ("IF(flag, None, due)", "date"), ("IF(flag, None, None)", "null"),
    ("BLANKVALUE(name, 'x')", "text"), ("ISBLANK(account)", "boolean"),
    ("TODAY()", "date"), ("NOW()", "datetime"), ("DATE(2024, 1, 1)", "date"), ("DATEVALUE(seen)", "date"),
    ("YEAR(due)", "integer"), ("MONTH(seen)", "integer"), ("DAY(due)", "integer"),
    ("ADD_DAYS(due, 1)", "date"), ("ADD_DAYS(seen, 1)", "datetime"), ("DAYS_BETWEEN(due, seen)", "integer"),
    ("LEN(name)", "integer"), ("LOWER(name)", "text"), ("UPPER(name)", "text"),
    ("CONTAINS(name, 'a')", "boolean"), ("BEGINS(name, 'a')", "boolean"),
    ("ROUND(amount, 1)", "number"), ("ROUND(qty, -1)", "integer"), ("ROUND(amount)", "number"),
    ("ABS(qty)", "integer"), ("ABS(amount)", "number"),
    ("MIN(qty, 2)", "integer"), ("MAX(qty, amount, 1)", "number"), ("MIN(name, 'b')", "text"),
    ("MAX(due, TODAY())", "date"), ("MIN(at, at)", "time"),
    ("TEXT(qty)", "text"), ("TEXT(due)", "text"), ("TEXT(None)", "text"), ("VALUE(name)", "number"),
    ("account == '6f1c1a52-5d1e-4c43-9a0e-0d6b8f1b7c10'", "boolean"),
])
def test_result_types(text, kind):
    assert compile_(text).type == kind


@pytest.mark.parametrize("text, message", [
    ("name > 5", "'>' cannot compare text with number"),
    ("amount > 'x'", "'>' cannot compare number with text"),
    ("due == seen", "'==' cannot compare date with datetime"),
    ("flag < flag", "'<' cannot compare boolean with boolean"),
    ("account < account", "'<' cannot compare id with id"),
    ("account == name", "'==' can compare an id only with another id or a text literal"),
    # a name is not an id: this used to be accepted and silently match nothing
    ("account == 'New'", "'account' is a record id and 'New' is not one: '==' would never match (to compare a "
                         "field of the record it points to, name it: e.g. account.name == 'New')"),
    ("account in ['Acme']", "'account' is a record id and 'Acme' is not one: '==' would never match (to compare a "
                            "field of the record it points to, name it: e.g. account.name == 'Acme')"),
    ("qty < None", "'<' cannot compare number with None"),
    ("name + 1", "'+' cannot be applied to text and number (use TEXT() to turn a value into text)"),
    ("name - 'a'", "'-' cannot be applied to text and text"),
    ("seen + 1", "'+' cannot be applied to datetime and number (use ADD_DAYS or DAYS_BETWEEN for datetimes)"),
    ("due + due", "'+' cannot be applied to date and date"),
    ("due * 2", "'*' cannot be applied to date and number"),
    ("flag + 1", "'+' cannot be applied to boolean and number"),
    ("-name", "'-' cannot be applied to text"),
    ("not qty", "'not' needs a boolean, got integer"),
    ("flag and qty", "'and' needs boolean operands, got integer"),
    ("name or flag", "'or' needs boolean operands, got text"),
    ("qty in ['a']", "'==' cannot compare number with text"),
    ("None in [1]", "'in' needs a value on its left, got None (use ISBLANK)"),
    ("IF(flag, 1)", "function IF takes 3 arguments, got 2"),
    ("IF(qty, 1, 2)", "function IF: argument 1 must be boolean (the condition), got integer"),
    ("IF(flag, name, qty)", "function IF: argument 3 must be text like the argument before, got integer"),
    ("TODAY(1)", "function TODAY takes 0 arguments, got 1"),
    ("LEN()", "function LEN takes 1 argument, got 0"),
    ("LEN(qty)", "function LEN: argument 1 must be text, got integer"),
    ("ROUND(amount, 1, 2)", "function ROUND takes 1 or 2 arguments, got 3"),
    ("ROUND(amount, qty)", "function ROUND: argument 2 (the number of digits) must be a whole-number literal"),
    ("ROUND(amount, 11)", "function ROUND: argument 2 (the number of digits) must be between -10 and 10"),
    ("ROUND(name, 1)", "function ROUND: argument 1 must be a number, got text"),
    ("MIN(qty)", "function MIN takes at least 2 arguments, got 1"),
    ("MIN(flag, flag)", "function MIN: argument 1 must be a number, text, date, datetime or time, got boolean"),
    ("MAX(qty, name)", "function MAX: argument 2 must be integer like the argument before, got text"),
    ("DATE(2024, 1.5, 1)", "function DATE: argument 2 must be an integer, got number"),
    ("YEAR(name)", "function YEAR: argument 1 must be a date or datetime, got text"),
    ("ADD_DAYS(due, 1.5)", "function ADD_DAYS: argument 2 must be an integer (a number of days), got number"),
    ("VALUE(qty)", "function VALUE: argument 1 must be text, got integer"),
    ("CONTAINS(name, 1)", "function CONTAINS: argument 2 must be text, got integer"),
    ("FOO(1)", "unknown function 'FOO'"),
    ("today", "unknown field 'today' (TODAY is a function: write TODAY(...))"),
    ("ISCHANGED(amount + 1)", "ISCHANGED can only be used in validation rules and workflow conditions"),
])
def test_type_errors_are_clear(text, message):
    assert message_of(text) == message


def test_errors_carry_the_column():
    with pytest.raises(ExprError) as caught:
        compile_("flag and LEN(qty) > 1")
    assert caught.value.column == 14


def test_write_context_functions():
    assert "only be used in validation rules and workflow conditions" in message_of("PRIORVALUE(amount) > 1")
    compiled = compile_("ISCHANGED(amount) and PRIORVALUE(account.industry) == 'x'", context="write")
    assert compiled.uses_prior
    assert compiled.paths == frozenset({("amount",), ("account", "industry")})
    assert message_of("ISCHANGED(amount + 1)", context="write") == \
        "function ISCHANGED takes a field name, e.g. ISCHANGED(stage)"
    assert message_of("ISCHANGED(nope)", context="write") == "unknown field 'nope'"
    with pytest.raises(ValueError):
        compile_("flag", context="update")


def test_paths_and_uses_prior():
    compiled = compile_("IF(flag, account.industry, name) == 'x' and qty > 1")
    assert compiled.paths == frozenset({("flag",), ("account", "industry"), ("name",), ("qty",)})
    assert not compiled.uses_prior
    assert compiled.text == "IF(flag, account.industry, name) == 'x' and qty > 1"
    assert compile_("TODAY()").paths == frozenset()


@pytest.mark.parametrize("text, expected", [
    ("qty > 1", "boolean"), ("None", "boolean"), ("qty", "number"), ("amount", "integer"), ("amount", "currency"),
    ("name", "text"), ("name", "picklist"), ("ADD_DAYS(TODAY(), 30)", "date"), ("'x'", "id"), ("account", "lookup"),
])
def test_expected_accepts(text, expected):
    compile_(text, expected=expected)


@pytest.mark.parametrize("text, expected, message", [
    ("qty", "boolean", "the expression must give a boolean, but gives an integer"),
    ("name", "number", "the expression must give a number, but gives a text"),
    ("seen", "date", "the expression must give a date, but gives a datetime"),
    ("account", "text", "the expression must give a text, but gives an id"),
])
def test_expected_refuses(text, expected, message):
    assert message_of(text, expected=expected) == message


def test_field_type_names_from_the_resolver_are_understood():
    types = {("price",): "currency", ("stage",): "picklist", ("owner",): "lookup", ("data",): "json"}
    compiled = compile_expression("price * 2 > 1 and stage == 'x' and owner != None", types.get)
    assert compiled.type == "boolean"
    with pytest.raises(ExprError, match="field 'data' cannot be used in expressions"):
        compile_expression("data == 1", types.get)
