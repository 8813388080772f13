"""Rename a field inside expression text, for the setup UI's field rename.

Works on Python tokens (the language's grammar is Python's). A field reference is a chain of
names joined by dots (`amount`, `account.industry`, `account.owner.email`): each name after the
first names a field of the object its predecessor's lookup leads to. A name in a chain is renamed
when it equals the old name and its predecessors lead to the renamed field's object (by default:
it is the first name, a field of the expression's own object). Called names are functions (upper
case anyway) and are never renamed. Everything else — spacing, string literals that happen to
contain the name, comments — is kept byte for byte.
"""
from __future__ import annotations

import io
import tokenize
from collections.abc import Callable

_SKIPPED = (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)


def _own_object(path: tuple[str, ...]) -> bool:
    return not path


def rename_field_in(text: str, old: str, new: str,
                    reaches: Callable[[tuple[str, ...]], bool] = _own_object) -> str:
    """`text` with the field `old` renamed `new` wherever the lookup path before it satisfies
    `reaches(path)` (a tuple of the field names before it; () is the expression's own object).
    Unchanged when the text does not tokenize (validation reports it as before)."""
    if not isinstance(text, str) or old not in text:
        return text
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in _SKIPPED]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    spans = []
    chain: list[str] = []      # the names of the reference being read
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME:
            if tok.string != ".":
                chain = []
            continue
        if i and tokens[i - 1].string == ".":
            if not chain:          # an attribute of something that is not a reference (a literal)
                continue
        else:
            chain = []
        path = tuple(chain)
        chain.append(tok.string)
        called = i + 1 < len(tokens) and tokens[i + 1].string == "("
        if tok.string == old and not called and reaches(path):
            (row, col), end_col = tok.start, tok.end[1]     # a name never spans lines
            spans.append((starts[row - 1] + col, starts[row - 1] + end_col))
    for begin, end in reversed(spans):
        text = text[:begin] + new + text[end:]
    return text


def rename_field_in_path(path: str, old: str, new: str,
                         reaches: Callable[[tuple[str, ...]], bool] = _own_object) -> str:
    """A column or sort path (`account.industry`, `-amount`) with the field `old` renamed `new`
    where the steps before it satisfy `reaches` (as in `rename_field_in`)."""
    sign = "-" if path.startswith("-") else ""
    steps = path[len(sign):].split(".")
    renamed = [new if step == old and reaches(tuple(steps[:k])) else step for k, step in enumerate(steps)]
    return sign + ".".join(renamed)
