"""Typed tree → SQLAlchemy Core expression.

Values enter SQL only as bound parameters (literal()) and field references only through the
caller's `column_for`; the SQL text is made entirely of SQLAlchemy constructs chosen here and in
sql_dialects.py. TODAY() and NOW() are parameters taken from `now`, and CURRENT_USER() from `user`,
so a query and a Python evaluation with the same `now` and `user` agree.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Callable

from sqlalchemy import (Date, DateTime, Numeric, Text, and_, bindparam, case, cast, false, func, literal,
                        not_, null, or_, true, type_coerce)
from sqlalchemy.sql.elements import BindParameter, ColumnClause, ColumnElement, Grouping, Null
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, Uuid

from . import geo, types as t
from .errors import ExprError
from .nodes import (Arith, Call, Changed, Compare, Concat, Field, InList, InPeriod, IsBlank, Literal, Logic, Negate,
                    Node, Not, Prior, Under, walk)
from .hierarchy import under_sql
from .images import image_sql
from .relative_dates import period_sql
from .sql_dialects import Dialect
from .sql_types import sql_type

ColumnFor = Callable[[tuple], ColumnElement]


NOW_PARAMETER = "tessera_now"   # NOW()'s value when a cached statement runs again


def compile_sql(node: Node, column_for: ColumnFor, dialect: Dialect, now: datetime,
                user: uuid.UUID | None = None) -> ColumnElement:
    compiler = _SqlCompiler(column_for, dialect, now, user)
    expression = compiler.compile(node)
    if isinstance(node, (Field, Literal)):
        return expression
    if node.type == t.INTEGER:
        expression = dialect.integer_result(expression, _may_overflow(node))
    return type_coerce(expression, sql_type(node.type))


def operand(expression: ColumnElement) -> ColumnElement:
    """An expression made safe to use as an operand: parenthesized unless it is atomic.

    SQLAlchemy does not parenthesize every combination the databases parse differently, e.g.
    `NOT flag IS NULL` (PostgreSQL reads NOT (flag IS NULL)) or SQLite's `flag = 0 = flag = 0`.
    """
    if isinstance(expression, (ColumnClause, BindParameter, FunctionElement, Null, Grouping)):
        return expression
    return Grouping(expression)


def _may_overflow(node: Node) -> bool:
    return any(isinstance(n, (Arith, Negate)) and n.type == t.INTEGER
               or isinstance(n, Call) and n.name in ("ROUND", "ABS") and n.type == t.INTEGER for n in walk(node))


class _SqlCompiler:
    def __init__(self, column_for: ColumnFor, dialect: Dialect, now: datetime, user: uuid.UUID | None):
        self.column_for = column_for
        self.dialect = dialect
        self.now = now
        self.user = user

    def compile(self, node: Node) -> ColumnElement:
        expression = getattr(self, "_" + type(node).__name__)(node)
        if node.type == t.GEOLOCATION:   # a GeoSql pair (geo.py): only geo functions and ISBLANK take it
            return expression
        if isinstance(expression.type, NullType) and node.type != t.NULL:
            expression = type_coerce(expression, sql_type(node.type))
        return expression

    # -- leaves ----------------------------------------------------------------------------------
    def _Literal(self, node: Literal) -> ColumnElement:
        value = node.value
        if value is None:
            return null() if node.type == t.NULL else cast(null(), sql_type(node.type))
        if isinstance(value, bool):
            return true() if value else false()
        if node.type == t.ID:
            return literal(value, Text())  # only reached outside comparisons, e.g. IF(c, 'x', account)
        return literal(value, sql_type(node.type))

    def _Field(self, node: Field) -> ColumnElement:
        if node.type == t.GEOLOCATION:
            return geo.field_sql(self.column_for, node.path)
        return self.column_for(node.path)

    def _Under(self, node: Under) -> ColumnElement:
        return under_sql(self, node)

    def _InPeriod(self, node: InPeriod) -> ColumnElement:
        return period_sql(node, operand(self.compile(node.operand)), self.dialect, self.now)

    def _Prior(self, node: Prior) -> ColumnElement:
        raise ExprError("PRIORVALUE cannot be used in a query (only when a record is written)")

    def _Changed(self, node: Changed) -> ColumnElement:
        raise ExprError("ISCHANGED cannot be used in a query (only when a record is written)")

    # -- operators -------------------------------------------------------------------------------
    def _Arith(self, node: Arith) -> ColumnElement:
        left, right = self.compile(node.left), self.compile(node.right)
        return type_coerce(self.dialect.arith(node.op, left, right, node.type), sql_type(node.type))

    def _Negate(self, node: Negate) -> ColumnElement:
        return self.dialect.negate(self.compile(node.operand), node.type)

    def _Concat(self, node: Concat) -> ColumnElement:
        return self.dialect.concat(self.compile(node.left), self.compile(node.right))

    def _Compare(self, node: Compare) -> ColumnElement:
        left, right = operand(self.compile(node.left)), operand(self.compile(node.right))
        if node.operand_type == t.ID:
            return self._id_compare(node, left, right)
        if node.tolerant:
            return self.dialect.near_compare(node.op, left, right)
        return self.dialect.compare(node.op, left, right, node.operand_type)

    def _id_compare(self, node: Compare, left, right) -> ColumnElement:
        # An id compared with a text literal: bind the literal as the id column's own type (a UUID
        # on PostgreSQL, 32 hex digits on SQLite). Text that is no id never equals one.
        if isinstance(node.right, Literal) or isinstance(node.left, Literal):
            column, text = (left, node.right.value) if isinstance(node.right, Literal) else (right, node.left.value)
            value = _id_parameter(text, column)
            if value is None:
                return _unless_blank(column, false() if node.op == "==" else true())
            return column == value if node.op == "==" else column != value
        return left == right if node.op == "==" else left != right

    def _IsBlank(self, node: IsBlank) -> ColumnElement:
        return self._is_blank(self.compile(node.operand), node.operand.type)

    def _is_blank(self, expression, kind: str) -> ColumnElement:
        if kind == t.GEOLOCATION:
            return geo.blank_sql(expression)
        expression = operand(expression)
        if kind == t.TEXT:
            return or_(expression.is_(None), expression == literal("", Text()))
        return expression.is_(None)

    def _InList(self, node: InList) -> ColumnElement:
        value = operand(self.compile(node.operand))
        if node.operand_type == t.ID:
            ids = [_id_parameter(item.value, value) if isinstance(item, Literal) else self.compile(item)
                   for item in node.items]
            ids = [id_ for id_ in ids if id_ is not None]
            return value.in_(ids) if ids else _unless_blank(value, false())
        items = [operand(self.compile(item)) for item in node.items]
        if node.tolerant:
            return or_(*(self.dialect.near_compare("==", value, item) for item in items))
        return value.in_(items)

    def _Not(self, node: Not) -> ColumnElement:
        return not_(self.compile(node.operand))

    def _Logic(self, node: Logic) -> ColumnElement:
        operands = [self.compile(o) for o in node.operands]
        return and_(*operands) if node.op == "and" else or_(*operands)

    # -- functions -------------------------------------------------------------------------------
    def _Call(self, node: Call) -> ColumnElement:
        method = getattr(self, "_call_" + node.name)
        return method(node, *node.args)

    def _call_IF(self, node, condition, then, otherwise):
        return case((self.compile(condition), self.compile(then)), else_=self.compile(otherwise))

    def _call_ISBLANK(self, node, value):
        return self._is_blank(self.compile(value), value.type)

    def _call_BLANKVALUE(self, node, value, fallback):
        compiled = self.compile(value)
        if value.type == t.TEXT:
            return case((self._is_blank(compiled, t.TEXT), self.compile(fallback)), else_=compiled)
        return func.coalesce(compiled, self.compile(fallback))

    def _call_TODAY(self, node):
        return literal(self.now.date(), Date())

    def _call_NOW(self, node):
        # a named parameter: a statement built once (records/reads.py) is run with the current time
        return bindparam(NOW_PARAMETER, self.now, type_=DateTime(timezone=True))

    def _call_CURRENT_USER(self, node):
        # typed as an id column is, so `owner == CURRENT_USER()` compares like with like (and can
        # use the owner index); no user (the platform itself) is a typed NULL: blank
        return literal(self.user, Uuid()) if self.user is not None else cast(null(), Uuid())

    def _call_DATE(self, node, year, month, day):
        return self.dialect.make_date(self.compile(year), self.compile(month), self.compile(day))

    def _call_DATEVALUE(self, node, value):
        return self.dialect.datevalue(self.compile(value), value.type)

    def _date_part(self, part, value):
        return self.dialect.date_part(part, self.compile(value), value.type)

    def _call_YEAR(self, node, value):
        return self._date_part("year", value)

    def _call_MONTH(self, node, value):
        return self._date_part("month", value)

    def _call_DAY(self, node, value):
        return self._date_part("day", value)

    def _call_ADD_DAYS(self, node, value, days):
        return self.dialect.add_days(self.compile(value), self.compile(days), value.type)

    def _call_DAYS_BETWEEN(self, node, first, second):
        first_date = self.dialect.datevalue(self.compile(first), first.type)
        second_date = self.dialect.datevalue(self.compile(second), second.type)
        return self.dialect.days_between(first_date, second_date)

    def _call_LEN(self, node, text):
        return self.dialect.length(self.compile(text))

    def _call_LOWER(self, node, text):
        return self.dialect.lower(self.compile(text))

    def _call_UPPER(self, node, text):
        return self.dialect.upper(self.compile(text))

    def _call_CONTAINS(self, node, text, part):
        return self.dialect.contains(self.compile(text), self.compile(part))

    def _call_BEGINS(self, node, text, start):
        return self.dialect.begins(self.compile(text), self.compile(start))

    def _call_ROUND(self, node, value, digits=None):
        return self.dialect.round(self.compile(value), digits.value if digits is not None else 0, node.type)

    def _call_ABS(self, node, value):
        return self.dialect.abs(self.compile(value), node.type)

    def _call_MIN(self, node, *values):
        return self.dialect.least([self.compile(v) for v in values], node.type)

    def _call_MAX(self, node, *values):
        return self.dialect.least([self.compile(v) for v in values], node.type, greatest=True)

    def _call_TEXT(self, node, value):
        compiled = self.compile(value)
        kind = value.type
        if kind == t.NULL:
            return cast(null(), Text())
        if kind == t.TEXT:
            return compiled
        if kind == t.NUMBER:
            return self.dialect.number_text(compiled)
        if kind == t.BOOLEAN:
            return case((compiled, literal("true", Text())), (not_(compiled), literal("false", Text())))
        return self.dialect.text(compiled, kind)

    def _call_GEOLOCATION(self, node, lat, lng):
        if isinstance(lat, Literal) and isinstance(lng, Literal):   # the usual case: checked here, not in SQL
            return geo.literal_point_sql(lat.value, lng.value)
        return geo.point_sql(self.compile(lat), self.compile(lng))

    def _call_DISTANCE(self, node, a, b, unit=None):
        return geo.distance_sql(self.compile(a), self.compile(b), geo.unit_of(node))

    def _call_LATITUDE(self, node, point):
        return self.compile(point).latitude

    def _call_LONGITUDE(self, node, point):
        return self.compile(point).longitude

    def _call_IMAGE(self, node, *args):
        return image_sql(self, node)

    def _call_VALUE(self, node, text):
        return type_coerce(self.dialect.value(self.compile(text)), Numeric(asdecimal=True))


def _id_parameter(text: str, column: ColumnElement):
    """A bound parameter for an id given as text, typed like the id column; None if the text is no id."""
    column_type = column.type
    if isinstance(column_type, Uuid):
        try:
            parsed = uuid.UUID(text)
        except ValueError:
            return None
        return literal(parsed if column_type.as_uuid else str(parsed), column_type)
    return literal(text, column_type if not isinstance(column_type, NullType) else Text())


def _unless_blank(expression, value) -> ColumnElement:
    """`value`, or NULL when `expression` is blank (a comparison with a blank value is blank)."""
    return case((expression.is_(None), null()), else_=value)
