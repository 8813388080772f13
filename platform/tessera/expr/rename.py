"""Rename a field inside expression text, for the setup UI's field rename.

Works on Python tokens (the language's grammar is Python's): a NAME token equal to the old name is
a reference to that field when it does not follow a '.' (then it names a field of a lookup's
target) and is not called (function names are upper case anyway). Everything else — spacing,
string literals that happen to contain the name, comments — is kept byte for byte.
"""
from __future__ import annotations

import io
import tokenize


def rename_field_in(text: str, old: str, new: str) -> str:
    """`text` with the field `old` (first step of a path) renamed `new`; unchanged when the text
    does not tokenize (validation reports it as before)."""
    if not isinstance(text, str) or old not in text:
        return text
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                                    tokenize.DEDENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return text
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    spans = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string != old:
            continue
        after_dot = i > 0 and tokens[i - 1].string == "."
        called = i + 1 < len(tokens) and tokens[i + 1].string == "("
        if not after_dot and not called:
            (row, col), (_erow, ecol) = tok.start, tok.end
            spans.append((starts[row - 1] + col, starts[row - 1] + ecol))
    for begin, end in reversed(spans):
        text = text[:begin] + new + text[end:]
    return text
