"""CURRENT_USER(): the id of the user an expression is evaluated for, bound as a parameter in SQL
and taken from the evaluation in Python; both targets agree, with a user and without one (the
platform itself: blank). Refused wherever the caller does not say it evaluates for one user."""
from __future__ import annotations

import uuid

import pytest

from tessera.expr import ExprError, compile_expression

from expr_db import resolve_type

RITA, OMAR = uuid.uuid4(), uuid.uuid4()
ROWS = [{("account",): RITA}, {("account",): OMAR}, {("account",): None}]


def _compiled(text):
    return compile_expression(text, resolve_type, current_user=True)


@pytest.mark.parametrize("text", [
    "account == CURRENT_USER()", "account != CURRENT_USER()", "ISBLANK(CURRENT_USER())",
    "account in [CURRENT_USER(), None]", "TEXT(CURRENT_USER())", "BLANKVALUE(CURRENT_USER(), account)",
    "IF(account == CURRENT_USER(), 'mine', 'theirs')",
])
@pytest.mark.parametrize("user", [RITA, OMAR, None], ids=["rita", "omar", "no user"])
def test_python_and_sql_agree(db, text, user):
    compiled = _compiled(text)
    in_python = [compiled.evaluate(row, user=user) for row in ROWS]
    in_sql = db.run(compiled, ROWS, user=user)
    if compiled.type == "id":
        in_sql = [None if v is None else uuid.UUID(str(v)) for v in in_sql]
    assert in_sql == in_python


def test_a_filter_selects_the_acting_users_rows(db):
    mine = _compiled("account == CURRENT_USER()")
    assert db.where(mine, ROWS, user=RITA) == [0]
    assert db.where(mine, ROWS, user=str(OMAR)) == [1]      # the id may come as text
    assert db.where(mine, ROWS, user=None) == []            # no user: blank, so nothing matches
    assert mine.evaluate({("account",): RITA}, user=RITA) is True
    assert _compiled("CURRENT_USER()").type == "id"


@pytest.mark.parametrize("text, fragment", [
    ("CURRENT_USER(1)", "takes 0 arguments"),
    ("CURRENT_USER() > account", "cannot compare"),
    ("CURRENT_USER() == 'nobody'", "is not one"),
])
def test_misuse_is_refused_at_compile_time(text, fragment):
    with pytest.raises(ExprError) as caught:
        _compiled(text)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("context", ["read", "write"])
def test_refused_unless_the_caller_evaluates_for_one_user(context):
    with pytest.raises(ExprError) as caught:
        compile_expression("account == CURRENT_USER()", resolve_type, context=context)
    assert "CURRENT_USER() can only be used in filters" in str(caught.value)
