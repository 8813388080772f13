"""Building filter expressions from user input, safely.

User text never becomes expression text: it becomes a *literal* made by `expr_literal`, which the
expression parser (Python's `ast`) reads back as exactly that value — quotes, backslashes and
control characters are escaped, so `x') or True or ('` stays one string. Field names come from
metadata only (`check_path`). The record service then compiles the expression to SQL with bound
parameters, so even a literal never becomes SQL text.
"""
from __future__ import annotations

import re

from ...expr.literals import expr_literal  # noqa: F401  (re-exported: the UI's filters use it)

_PATH = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,4}")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
MAX_SEARCH = 100


def check_path(path: str) -> str:
    """A field path from metadata, checked to be only names and dots (never user text)."""
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ValueError(f"{path!r} is not a field path")
    return path


def ascii_lower(text: str) -> str:
    """LOWER() of the expression language changes only A–Z: match it exactly."""
    return text.translate(_ASCII_LOWER)


def clean_search(text: str | None) -> str:
    """Search box text: whitespace collapsed, at most MAX_SEARCH characters, no control characters."""
    if not text:
        return ""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return " ".join(text.split())[:MAX_SEARCH]


def contains_all(path: str, text: str) -> str | None:
    """Case-insensitive "every word of `text` occurs in the field" (None when text is empty)."""
    words = clean_search(text).split()
    if not words:
        return None
    field = f"LOWER({check_path(path)})"
    return " and ".join(f"CONTAINS({field}, {expr_literal(ascii_lower(w))})" for w in words[:8])


def value_in(path: str, values: list[str]) -> str | None:
    """`path in [values]` for a quick filter ('' stands for a blank value)."""
    values = [v for v in values if "\x00" not in v]
    if not values:
        return None
    plain = [v for v in values if v != ""]
    parts = []
    if plain:
        parts.append(f"{check_path(path)} in {expr_literal(plain)}")
    if len(plain) != len(values):
        parts.append(f"ISBLANK({check_path(path)})")
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def all_of(*parts: str | None) -> str | None:
    """Join conditions with `and`, each parenthesized (a view's filter may contain `or`)."""
    present = [p for p in parts if p]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({p})" for p in present)
