"""Expression-language literals for Python values: how code that builds an expression from data (a
search box, a report group's drill-down) writes a value so the parser reads back exactly that value
— quotes, backslashes and control characters escaped; never user text spliced in as expression."""
from __future__ import annotations

import math
from datetime import date
from decimal import Decimal


def _escape_char(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == "'":
        return "\\'"
    if ch.isprintable() and ch not in "\u2028\u2029":
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def expr_literal(value) -> str:
    """The expression-language literal for `value` (str, int, Decimal, float, bool, None, date,
    or a list of those for `in [...]`). Raises TypeError/ValueError for anything else."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        return format(value, "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return repr(value)
    if isinstance(value, str):
        if "\x00" in value:   # the language (like PostgreSQL text) has no NUL character
            raise ValueError("text cannot contain the NUL character")
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("text must be valid Unicode (no lone surrogates)")
        return "'" + "".join(_escape_char(ch) for ch in value) + "'"
    if isinstance(value, date):
        return f"DATE({value.year}, {value.month}, {value.day})"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(expr_literal(v) for v in value) + "]"
    raise TypeError(f"no expression literal for {type(value).__name__}")
