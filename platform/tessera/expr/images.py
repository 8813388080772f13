"""IMAGE(url, alt [, height, width]): Salesforce's picture function — its typing rules, its Python
implementation and its SQL.

The value is a picture, not text: {"url", "alt", "height", "width"} (a dict in Python; in SQL a JSON
object built by json_object / json_build_object and read back as the same dict), so both targets
agree and pages draw it as an <img> (web/ui/images.py), never as markup the formula wrote. It is a
type of its own (`image`), only a formula's result: no operator, comparison, filter or sort takes
one; IF, CASE and BLANKVALUE choose between pictures and ISBLANK tells whether there is one.

url is text (a web address or a path), or a file or image field: the picture is then that stored
file, at the session download route (FILE_URL_PREFIX, web/ui/views_files.file_content), which lets
through only who may read the file. A blank url gives a blank picture; a blank alt is ''.
height and width are whole pixels (blank: the picture's own size). Which urls a page will draw
(http(s) or /app/ paths, never javascript:) is decided where it is drawn.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Text, case, cast, func, literal, null, or_
from sqlalchemy.types import JSON

from . import types as t
from .functions import ArgumentError, _need
from .python_values import id_key

# where the /app pages download a stored file with the viewer's session (web/ui/views_files.py)
FILE_URL_PREFIX = "/app/_files/"
FILE_URL_SUFFIX = "/content"
TAKES_IMAGE = frozenset({"IF", "BLANKVALUE", "ISBLANK", "ISCHANGED", "PRIORVALUE"})


def infer(args, file_field=None):
    """IMAGE's typing: (text url | a file or image field, text alt, integer height, integer width).
    `file_field(node)` says whether an id argument is a file or image field (the checker asks its
    resolver)."""
    kind = args[0].type
    if kind == t.ID:
        if file_field is None or not file_field(args[0]):
            raise ArgumentError(0, "argument 1 (the url) must be text or a file or image field, got an id "
                                   "that is not a file")
    else:
        _need(args, 0, {t.TEXT}, "text (the url) or a file or image field")
    _need(args, 1, {t.TEXT}, "text (the alternative text)")
    for i, what in ((2, "height"), (3, "width")):
        if i < len(args):
            _need(args, i, {t.INTEGER}, f"an integer (the {what} in pixels)")
    url_type = t.ID if kind == t.ID else t.TEXT
    return t.IMAGE, (url_type, t.TEXT, t.INTEGER, t.INTEGER)[:len(args)]


# -- Python -----------------------------------------------------------------------------------

def python_image(node, args):
    """The compiled IMAGE call: blank url → blank picture; the other arguments may be blank."""
    url_of, alt_of = args[0], args[1]
    height_of = args[2] if len(args) > 2 else (lambda env: None)
    width_of = args[3] if len(args) > 3 else (lambda env: None)
    is_file = node.args[0].type == t.ID

    def image(env):
        url = url_of(env)
        if url is None or url == "":
            return None
        if is_file:
            url = FILE_URL_PREFIX + id_key(url) + FILE_URL_SUFFIX
        return {"url": url, "alt": alt_of(env) or "", "height": _int(height_of(env)), "width": _int(width_of(env))}
    return image


def _int(value):
    return None if value is None else int(value)


# -- SQL --------------------------------------------------------------------------------------

def image_sql(compiler, node):
    """The picture as one JSON value (NULL when the url is blank); every part is typed so
    PostgreSQL's variadic json_build_object knows what it is given."""
    dialect = compiler.dialect
    url = compiler.compile(node.args[0])
    if node.args[0].type == t.ID:
        url = dialect.concat(dialect.concat(literal(FILE_URL_PREFIX, Text()), dialect.text(url, t.ID)),
                             literal(FILE_URL_SUFFIX, Text()))
        blank = compiler.compile(node.args[0]).is_(None)
    else:
        url = cast(url, Text())
        blank = or_(url.is_(None), url == literal("", Text()))
    alt = func.coalesce(cast(compiler.compile(node.args[1]), Text()), literal("", Text()))
    sizes = [cast(compiler.compile(a), BigInteger()) for a in node.args[2:]]
    sizes += [cast(null(), BigInteger())] * (2 - len(sizes))
    parts = []
    for key, value in zip(("url", "alt", "height", "width"), (url, alt, *sizes)):
        parts += [cast(literal(key, Text()), Text()), value]
    build = func.json_build_object if dialect.name == "postgresql" else func.json_object
    return case((blank, null()), else_=build(*parts, type_=JSON()))
