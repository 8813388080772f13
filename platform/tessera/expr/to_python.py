"""Typed tree → Python closure.

Each node becomes a function of an `Env` (the record's values, the prior values, the clock), built
once at compile time; evaluation is then plain function calls, with no interpretation of the tree.
Numbers are Decimals throughout so that Python agrees with PostgreSQL's numeric arithmetic.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Mapping

from . import types as t
from .nodes import (Arith, Call, Changed, Compare, Concat, Field, InList, InPeriod, IsBlank, Literal, Logic, Negate,
                    Node, Not, Prior, Under)
from .hierarchy import under_python
from .images import python_image
from .python_functions import FUNCTIONS, TEXT_FORMATS
from .relative_dates import period_python
from .python_values import comparable_value, divide, id_key, is_blank, normalizer
from .semantics import NUMBER_TOLERANCE_ABSOLUTE, NUMBER_TOLERANCE_RELATIVE

Evaluator = Callable[["Env"], Any]


@dataclass(frozen=True, slots=True)
class Env:
    values: Mapping
    prior: Mapping | None
    now: datetime  # aware, UTC
    today: date    # now's UTC date
    # under(object, field, parent_id, node, by) -> whether parent_id is the node or below it
    # (expr/hierarchy.py); None where no database is at hand
    under: Callable | None = None
    user: Any = None   # CURRENT_USER(): the acting user's id (a UUID), None for the platform itself


def compile_python(node: Node) -> Evaluator:
    return _COMPILERS[type(node)](node)


# -- leaves ----------------------------------------------------------------------------------------

def _literal(node: Literal) -> Evaluator:
    value = node.value
    return lambda env: value


def _field(node: Field) -> Evaluator:
    path, convert = node.path, normalizer(node.type)
    return lambda env: convert(env.values.get(path))


def _prior(node: Prior) -> Evaluator:
    path, convert = node.path, normalizer(node.type)
    return lambda env: None if env.prior is None else convert(env.prior.get(path))


def _changed(node: Changed) -> Evaluator:
    # A record being created has no prior values: nothing has "changed" yet.
    path = node.path

    def changed(env):
        if env.prior is None:
            return False
        return comparable_value(env.values.get(path)) != comparable_value(env.prior.get(path))
    return changed


# -- operators -------------------------------------------------------------------------------------

_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": divide}


def _arith(node: Arith) -> Evaluator:
    left, right, apply = compile_python(node.left), compile_python(node.right), _ARITHMETIC[node.op]

    def arith(env):
        a = left(env)
        if a is None:
            return None
        b = right(env)
        return None if b is None else apply(a, b)
    return arith


def _negate(node: Negate) -> Evaluator:
    operand = compile_python(node.operand)

    def negate(env):
        value = operand(env)
        return None if value is None else -value
    return negate


def _concat(node: Concat) -> Evaluator:
    left, right = compile_python(node.left), compile_python(node.right)
    return lambda env: (left(env) or "") + (right(env) or "")


_COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                ">": operator.gt, ">=": operator.ge}


_ABSOLUTE, _RELATIVE = Decimal(NUMBER_TOLERANCE_ABSOLUTE), Decimal(NUMBER_TOLERANCE_RELATIVE)


def _near(op: str) -> Callable[[Any, Any], bool]:
    """A comparison of numbers that counts values within the tolerance as equal (semantics.py)."""
    def near(a, b):
        difference, tolerance = a - b, _ABSOLUTE + _RELATIVE * max(abs(a), abs(b))
        if op == "==":
            return abs(difference) <= tolerance
        if op == "!=":
            return abs(difference) > tolerance
        if op in ("<", ">="):
            return (-difference > tolerance) == (op == "<")
        return (difference > tolerance) == (op == ">")
    return near


def _compare(node: Compare) -> Evaluator:
    left, right = compile_python(node.left), compile_python(node.right)
    apply = _near(node.op) if node.tolerant else _COMPARISONS[node.op]
    key = id_key if node.operand_type == t.ID else (lambda value: value)

    def compare(env):
        a = left(env)
        if a is None:
            return None
        b = right(env)
        return None if b is None else apply(key(a), key(b))
    return compare


def _is_blank(node: IsBlank) -> Evaluator:
    operand, kind = compile_python(node.operand), node.operand.type
    return lambda env: is_blank(operand(env), kind)


def _in_list(node: InList) -> Evaluator:
    # x IN (a, b) is (x = a) OR (x = b) under three-valued logic, exactly as in SQL.
    operand = compile_python(node.operand)
    items = [compile_python(item) for item in node.items]
    key = id_key if node.operand_type == t.ID else (lambda value: value)
    equal = _near("==") if node.tolerant else operator.eq

    def in_list(env):
        value = operand(env)
        if value is None:
            return None
        value = key(value)
        unknown = False
        for item in items:
            candidate = item(env)
            if candidate is None:
                unknown = True
            elif equal(key(candidate), value):
                return True
        return None if unknown else False
    return in_list


def _not(node: Not) -> Evaluator:
    operand = compile_python(node.operand)

    def negation(env):
        value = operand(env)
        return None if value is None else not value
    return negation


def _logic(node: Logic) -> Evaluator:
    operands = [compile_python(o) for o in node.operands]
    decisive = node.op == "or"  # the value that settles the result: True for or, False for and

    def logic(env):
        unknown = False
        for operand in operands:
            value = operand(env)
            if value is None:
                unknown = True
            elif value is decisive:
                return decisive
        return None if unknown else not decisive
    return logic


# -- functions -------------------------------------------------------------------------------------

def _call(node: Call) -> Evaluator:
    args = [compile_python(arg) for arg in node.args]
    special = _LAZY.get(node.name)
    if special is not None:
        return special(node, args)
    function = FUNCTIONS[node.name](node)

    def call(env):
        values = [arg(env) for arg in args]
        if any(value is None for value in values):
            return None  # blank in, blank out (functions that handle blanks are in _LAZY)
        return function(*values)
    return call


def _if(node, args):
    condition, then, otherwise = args
    return lambda env: then(env) if condition(env) is True else otherwise(env)


def _isblank(node, args):
    operand, kind = args[0], node.args[0].type
    return lambda env: is_blank(operand(env), kind)


def _blankvalue(node, args):
    value_of, fallback = args
    kind = node.args[0].type

    def blankvalue(env):
        value = value_of(env)
        return fallback(env) if is_blank(value, kind) else value
    return blankvalue


def _today(node, args):
    return lambda env: env.today


def _now(node, args):
    return lambda env: env.now


def _current_user(node, args):
    return lambda env: env.user


def _text_of(node, args):
    operand, kind = args[0], node.args[0].type
    format_value = TEXT_FORMATS[kind]

    def text(env):
        value = operand(env)
        return None if value is None else format_value(value)
    return text


_LAZY = {"IF": _if, "ISBLANK": _isblank, "BLANKVALUE": _blankvalue, "TODAY": _today, "NOW": _now,
         "CURRENT_USER": _current_user, "TEXT": _text_of, "IMAGE": python_image}


_COMPILERS: dict[type, Callable[[Any], Evaluator]] = {
    Literal: _literal, Field: _field, Prior: _prior, Changed: _changed, Arith: _arith, Negate: _negate,
    Concat: _concat, Compare: _compare, IsBlank: _is_blank, InList: _in_list, Not: _not, Logic: _logic,
    Call: _call, Under: lambda node: under_python(node, compile_python),
    InPeriod: lambda node: period_python(node, compile_python),
}
