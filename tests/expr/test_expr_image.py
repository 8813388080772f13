"""IMAGE(url, alt [, height, width]) (issue 14): type checking (errors name the argument; a picture
is only a result, never compared), and Python and SQL agreeing on the picture — on SQLite and on
PostgreSQL — for text urls, a file field's id, blanks, sizes and IF between pictures."""
from __future__ import annotations

import uuid

import pytest

from expr_db import FIELDS
from tessera.expr import ExprError, compile_expression


class Resolver:
    """The test table's fields; `account` stands for a file field here (IMAGE may draw its file)."""

    def __call__(self, path):
        found = FIELDS.get(tuple(path))
        return found[1] if found else None

    def file_field(self, path):
        return tuple(path) == ("account",)


resolve = Resolver()
FILE_ID = uuid.UUID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")

ROWS = [
    {"name": "https://example.com/a.png", "notes": "A <b>\"logo\"</b>", "qty": 64, "account": FILE_ID, "flag": True},
    {"name": "/app/_files/x/content", "notes": None, "qty": None, "account": None, "flag": False},
    {"name": "", "notes": "blank url", "qty": 10, "account": None, "flag": None},
    {"name": None, "notes": None, "qty": None, "account": None, "flag": None},
    {"name": "javascript:alert(1)", "notes": "kept as data; pages refuse to draw it", "qty": 1, "account": None,
     "flag": True},
]

EXPRESSIONS = [
    "IMAGE(name, notes)",
    "IMAGE(name, notes, qty)",
    "IMAGE(name, 'Logo', qty, qty * 2)",
    "IMAGE(account, notes)",
    "IF(flag, IMAGE(name, 'yes'), IMAGE('/app/static/no.png', 'no', 16, 16))",
    "BLANKVALUE(IMAGE(name, notes), IMAGE(account, 'file'))",
    "IF(ISBLANK(IMAGE(name, notes)), None, IMAGE(name, notes))",
    "CASE(qty, 64, IMAGE(name, 'big'), 10, IMAGE(account, 'ten'), IMAGE(name, notes, 1, 2))",
]


def python_values(text):
    compiled = compile_expression(text, resolve, expected="image")
    return [compiled.evaluate({path: row.get(column) for path, (column, _k) in FIELDS.items()}) for row in ROWS]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_python_and_sql_agree_on_the_picture(db, text):
    compiled = compile_expression(text, resolve, expected="image")
    assert compiled.type == "image"
    assert db.run(compiled, [{(column,): value for column, value in row.items()} for row in ROWS]) == python_values(text)


def test_the_picture_python_gives():
    first, second, blank, missing, script = python_values("IMAGE(name, notes, qty)")
    assert first == {"url": "https://example.com/a.png", "alt": 'A <b>"logo"</b>', "height": 64, "width": None}
    assert second == {"url": "/app/_files/x/content", "alt": "", "height": None, "width": None}
    assert blank is None and missing is None
    assert script["url"] == "javascript:alert(1)"   # data here: web/ui/images.py refuses to draw it
    drawn = python_values("IMAGE(account, 'Photo', 100, 120)")[0]
    assert drawn == {"url": f"/app/_files/{FILE_ID}/content", "alt": "Photo", "height": 100, "width": 120}


@pytest.mark.parametrize("text, message", [
    ("IMAGE(qty, 'x')", "argument 1 must be text (the url) or a file or image field, got integer"),
    ("IMAGE(name, 5)", "argument 2 must be text (the alternative text), got integer"),
    ("IMAGE(name, 'x', 'tall')", "argument 3 must be an integer (the height in pixels), got text"),
    ("IMAGE(name, 'x', 10, 2.5)", "argument 4 must be an integer (the width in pixels), got number"),
    ("IMAGE(name)", "function IMAGE takes 2 or 4 arguments, got 1"),
    ("IMAGE(CURRENT_USER(), 'x')", "argument 1 (the url) must be text or a file or image field"),
    ("IMAGE(name, 'a') == IMAGE(name, 'b')", "cannot compare pictures"),
    ("TEXT(IMAGE(name, 'a'))", "function TEXT cannot take a picture"),
    ("IMAGE(name, 'a') + 'x'", "'+' cannot be applied to image and text"),
])
def test_type_errors_name_the_argument(text, message):
    with pytest.raises(ExprError) as caught:
        compile_expression(text, resolve, current_user=True)
    assert message in str(caught.value), str(caught.value)


def test_a_picture_is_only_a_formula_result():
    with pytest.raises(ExprError, match="must give a text, but gives an image"):
        compile_expression("IMAGE(name, 'x')", resolve, expected="text")
    with pytest.raises(ExprError, match="must give a boolean, but gives an image"):
        compile_expression("IMAGE(name, 'x')", resolve, expected="boolean")
    with pytest.raises(ExprError, match="function LEN: argument 1 must be text, got image"):
        compile_expression("LEN(IMAGE(name, 'x'))", resolve)
