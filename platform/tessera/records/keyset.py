"""Keyset order and paging for list queries, written so that a declared index can serve them.

The API order is: each sort key ascending or descending with NULLs last, then id (unique, so the
order is total and a cursor is stable under inserts). `ORDER BY k IS NULL, k, id` says exactly that
but no index can serve it: the database sorts every matching row before returning the first page
(about a second on a million rows). So a page is read the way an index on k is laid out:
  1. `k IS NOT NULL`, ordered by k, then the other keys and id — an index on k serves it, and
     the scan stops at the page size; with a cursor it is also bounded by `k >= v` (`<=` when
     descending), so the scan starts at the cursor instead of filtering from the start;
  2. only when part 1 did not fill the page and NULL rows can match the WHERE clause:
     `k IS NULL`, ordered by the remaining keys and id.
Keys that cannot be NULL (id, created_at, updated_at, row_version) need neither the split nor the
IS NULL term: the default order (created_at, id) is then exactly the `ix_<table>_created_at_id`
index.
"""
from __future__ import annotations

from sqlalchemy import and_, false, or_
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BooleanClauseList, TypeCoerce

NOT_NULL = frozenset({"id", "created_at", "updated_at", "row_version"})   # system columns, NOT NULL
_STRICT = {operators.lt, operators.le, operators.gt, operators.ge, operators.eq, operators.ne}


def after(cols, directions, values, id_col, last_id):
    """Keyset condition: rows strictly after the cursor in ORDER BY (col IS NULL, col, ...), id."""
    clauses, equal_so_far = [], []
    for col, desc, value in zip(cols, directions, values):
        if value is None:  # nulls sort last: nothing comes after a null at this level
            equal = col.is_(None)
            after_ = false()
        else:
            equal = col == value
            after_ = or_(col.is_(None), col < value if desc else col > value)
        clauses.append(and_(*equal_so_far, after_))
        equal_so_far.append(equal)
    clauses.append(and_(*equal_so_far, id_col > last_id))
    return or_(*clauses)


def _terms(cols, directions, nullable):
    out = []
    for col, desc, null in zip(cols, directions, nullable):
        if null:
            out.append(col.is_(None).asc())
        out.append(col.desc() if desc else col.asc())
    return out


def _start(col, desc, value):
    """The index range start a cursor implies for the first key (a redundant, indexable bound)."""
    return col <= value if desc else col >= value


def _conjuncts(clause):
    while isinstance(clause, TypeCoerce):
        clause = clause.clause
    if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        for c in clause.clauses:
            yield from _conjuncts(c)
    else:
        yield clause


def _excludes_nulls(where, col) -> bool:
    """True when a top-level conjunct compares `col` with a strict operator (NULL never matches)."""
    for clause in where:
        for c in _conjuncts(clause):
            if isinstance(c, BinaryExpression) and c.operator in _STRICT and (c.left is col or c.right is col):
                return True
            if isinstance(c, BinaryExpression) and c.operator is operators.is_not and c.left is col:
                return True
    return False


def fetch(conn, stmt, where, cols, directions, nullable, id_col, cursor_values, n):
    """At most `n` rows of `stmt` (a SELECT with `where` applied, no ORDER BY / LIMIT) in keyset
    order, strictly after `cursor_values` ([sort values..., id]) when given."""
    cond = after(cols, directions, cursor_values[:-1], id_col, cursor_values[-1]) if cursor_values else None
    if not cols or not nullable[0]:
        if cond is not None:
            stmt = stmt.where(cond)
            if cols and cursor_values[0] is not None:
                stmt = stmt.where(_start(cols[0], directions[0], cursor_values[0]))
        order = [*_terms(cols, directions, nullable), id_col.asc()]
        return conn.execute(stmt.order_by(*order).limit(n)).all()
    first, rest = cols[0], (cols[1:], directions[1:], nullable[1:])
    rows = []
    if cond is None or cursor_values[0] is not None:
        part = stmt.where(first.is_not(None))
        if cond is not None:
            part = part.where(cond, _start(first, directions[0], cursor_values[0]))
        order = [first.desc() if directions[0] else first.asc(), *_terms(*rest), id_col.asc()]
        rows = conn.execute(part.order_by(*order).limit(n)).all()
        if len(rows) >= n or _excludes_nulls(where, first):
            return rows
    part = stmt.where(first.is_(None))
    if cond is not None:
        part = part.where(cond)
    return rows + conn.execute(part.order_by(*_terms(*rest), id_col.asc()).limit(n - len(rows))).all()
