"""Search text → tokens, the one tokenizer both databases' queries are built from.

A token is a run of letters and digits (as SQLite's unicode61 tokenizer and the PostgreSQL document
normalization in search/storage.py split text), lower-cased. Everything else — quotes, `*`, `-`,
`NEAR`-like operators, parentheses — only separates tokens, so no query text is ever syntax.
"""
from __future__ import annotations

import re

MIN_QUERY = 2        # characters: shorter queries are refused (400)
MAX_QUERY = 200      # characters: longer ones too
MAX_TOKENS = 8       # further tokens are ignored: each one narrows the result anyway
_TOKEN = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    seen = dict.fromkeys(t.lower() for t in _TOKEN.findall(text or ""))
    return list(seen)[:MAX_TOKENS]


def matched_fields(tokens: list[str], values: dict[str, object]) -> list[str]:
    """The fields (of `values`: name → stored value) in which some query token is a word prefix."""
    out = []
    for name, value in values.items():
        if value is None:
            continue
        words = tokenize_all(str(value))
        if any(w.startswith(t) for t in tokens for w in words):
            out.append(name)
    return out


def tokenize_all(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]
