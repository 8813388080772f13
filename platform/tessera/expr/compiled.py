"""compile_expression() and its result: parse once, check once, then compile to either target."""
from __future__ import annotations

import decimal
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping

from sqlalchemy.sql.elements import ColumnElement

from . import types as t
from .check import Checker
from .errors import ExprError
from .nodes import Node
from .parse import parse
from .semantics import INT64_MAX, INT64_MIN
from .sql_dialects import dialect_for
from .to_python import Env, compile_python
from .to_sql import compile_sql

CONTEXTS = ("read", "write")

# Enough digits that + - * on stored values are exact (as PostgreSQL numeric is); division rounds
# to DIVISION_SCALE explicitly.
_DECIMAL_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN,
                                   Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def compile_expression(text: str, resolve_type: Callable[[tuple], str | None], *,
                       context: str = "read", expected: str | None = None,
                       current_user: bool = False) -> "Compiled":
    """Parse and type-check `text`; raise ExprError if it is not a valid expression.

    resolve_type(path) gives the expression type of a field path such as ("account", "industry"),
    or None when there is no such field. context "write" (validation rules, workflow conditions)
    also allows ISCHANGED and PRIORVALUE. expected, when given, is the type the result must fit.
    current_user: whether CURRENT_USER() is allowed — only where the caller evaluates the expression
    for one acting user and passes that user's id as `user` (refused elsewhere, see check.py).
    """
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {CONTEXTS}, not {context!r}")
    expected_type = t.normalize_type(expected) if expected is not None else None
    checker = Checker(resolve_type, context, current_user)
    try:
        tree = checker.check(parse(text))
    except RecursionError:
        raise ExprError("the expression is too complex") from None
    if expected_type is not None and not t.fits(tree.type, expected_type):
        raise ExprError(f"the expression must give {_a(expected_type)}, but gives {_a(tree.type)}")
    return Compiled(text, tree, frozenset(checker.paths), checker.uses_prior, checker.uses_under)


def _a(kind: str) -> str:
    if kind == t.NULL:
        return "None"
    return ("an " if kind[0] in "aeiou" else "a ") + kind


class Compiled:
    """A checked expression, ready to evaluate in Python or to compile into a SQL expression."""

    __slots__ = ("text", "tree", "type", "paths", "uses_prior", "uses_under", "_evaluate")

    def __init__(self, text: str, tree: Node, paths: frozenset, uses_prior: bool, uses_under: bool = False):
        self.text = text
        self.tree = tree
        self.type = tree.type
        self.paths = paths
        self.uses_prior = uses_prior
        self.uses_under = uses_under   # UNDER: evaluate() needs `under` (expr/hierarchy.py)
        self._evaluate = compile_python(tree)

    def evaluate(self, values: Mapping[tuple, Any], *, prior: Mapping[tuple, Any] | None = None,
                 now: datetime | None = None, under: Callable | None = None, user=None) -> Any:
        """The value for one record. `values` maps field paths to Python values; `prior` holds the
        values before a write (None when creating). `under` answers UNDER from the database
        (expr/hierarchy.py). `user`: the acting user's id, CURRENT_USER() (None: blank, the platform
        itself). A blank result is None: as a condition, it is false."""
        now = _utc(now)
        with decimal.localcontext(_DECIMAL_CONTEXT):
            result = self._evaluate(Env(values, prior, now, now.date(), under, _user_id(user)))
        return _result(result, self.type)

    def evaluate_many(self, values_list: list, priors: list | None = None, *, now: datetime | None = None,
                      user=None) -> list:
        """evaluate() for many records at once (a bulk write's before-save workflows): the clock,
        the user and the decimal context are set up once, not once per record. No `under`: an
        expression using UNDER is evaluated record by record."""
        if self.uses_under:
            raise ExprError("UNDER needs the database: evaluate record by record")
        now = _utc(now)
        today, user, run, kind = now.date(), _user_id(user), self._evaluate, self.type
        with decimal.localcontext(_DECIMAL_CONTEXT):
            if priors is None:
                return [_result(run(Env(values, None, now, today, None, user)), kind) for values in values_list]
            return [_result(run(Env(values, prior, now, today, None, user)), kind)
                    for values, prior in zip(values_list, priors)]

    def to_sql(self, column_for: Callable[[tuple], ColumnElement], *, dialect_name: str,
               now: datetime | None = None, user=None) -> ColumnElement:
        """A SQLAlchemy expression computing the same value in a query. `column_for(path)` gives the
        column (or expression) for a field path; the caller does the joins. `user` is bound as
        CURRENT_USER(), as in evaluate()."""
        if self.uses_prior:
            raise ExprError("ISCHANGED and PRIORVALUE cannot be used in a query (only when a record is written)")
        return compile_sql(self.tree, column_for, dialect_for(dialect_name), _utc(now), _user_id(user))

    def __repr__(self) -> str:
        return f"<Compiled {self.text!r}: {self.type}>"


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def _user_id(user) -> uuid.UUID | None:
    """The acting user's id as a UUID (given as a UUID or its text); None for no user."""
    if user is None or isinstance(user, uuid.UUID):
        return user
    return uuid.UUID(str(user))


def _result(value, kind: str):
    if value is None:
        return None
    if kind == t.NUMBER and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if kind == t.INTEGER and not INT64_MIN <= value <= INT64_MAX:
        return None  # integer arithmetic beyond 64 bits is blank, as in SQL (see integer_result)
    return value
