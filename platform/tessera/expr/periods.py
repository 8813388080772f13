"""Relative date periods one step back: a dashboard metric compared with the previous period runs
its report with each THIS_… function of the filter moved back (THIS_MONTH → LAST_MONTH)."""
from __future__ import annotations

import io
import re
import tokenize

PREVIOUS = {"THIS_WEEK": "LAST_WEEK", "THIS_MONTH": "LAST_MONTH", "THIS_QUARTER": "LAST_QUARTER",
            "THIS_YEAR": "LAST_YEAR", "THIS_FISCAL_QUARTER": "LAST_FISCAL_QUARTER",
            "THIS_FISCAL_YEAR": "LAST_FISCAL_YEAR", "IS_TODAY": "YESTERDAY"}
_CALL = re.compile(r"\b(" + "|".join(PREVIOUS) + r")\s*\(", re.IGNORECASE)


def previous_period(expression: str | None) -> str | None:
    """The expression with its THIS_… calls one period back (None: it has none). Tokenized as the
    language is parsed (as Python), so a function name inside a text literal is left alone."""
    if not expression or not _CALL.search(expression):
        return None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(expression).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    line_starts = [0]
    for line in expression.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    text = expression
    for i in range(len(tokens) - 2, -1, -1):      # from the end, so earlier offsets stay valid
        tok = tokens[i]
        if tok.type == tokenize.NAME and tok.string.upper() in PREVIOUS and tokens[i + 1].string == "(":
            start = line_starts[tok.start[0] - 1] + tok.start[1]
            text = text[:start] + PREVIOUS[tok.string.upper()] + text[start + len(tok.string):]
    return text if text != expression else None
