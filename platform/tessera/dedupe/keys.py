"""Match keys: a record's values under a rule, normalized and hashed into one key.

Each condition's value is normalized by its kind of match:
  exact         the stored value (text trimmed; numbers without trailing zeros; dates ISO)
  normalized    Unicode NFKD with the combining marks dropped (é → e), casefolded (ß → ss), every
                run of white space one space, trimmed
  email         trimmed, lower-cased; dots are kept (ann.lee@ and annlee@ are two addresses, as
                they are everywhere but at one mail provider)
  email_domain  the part after the last @, lower-cased (no @: nothing to compare)
  phone         the digits only, the last 10 compared (+1 (555) 010-9999 = 555-010-9999)
  fuzzy         normalized, then only letters and digits, single spaces; its first 3 letters or
                digits are the blocking key, the text itself is scored against the candidates
A blank value in any condition gives no key: a record missing a compared value matches nothing.

The key is a 128-bit BLAKE2 digest of the parts (hex): equality on one short indexed column for
any number of conditions and any length of value, collisions out of reach at any table size.
Fuzzy parts add their blocking key only, so the key selects candidates; the normalized texts are
stored beside it (KeyEntry.value) and scored in Python (dedupe/match.py).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ..meta.duplicate_rules import DuplicateRule

SEPARATOR = "\x1f"       # between parts: never in a normalized value (control characters are dropped)
BLOCK = 3                # characters of a fuzzy value's blocking key
PHONE_DIGITS = 10
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^\w]+|_")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value) -> str | None:
    if value is None:
        return None
    text = _CONTROL.sub(" ", value if isinstance(value, str) else str(value)).strip()
    return text or None


def fold(text: str) -> str:
    """Case, accents and spacing ignored: 'Crème  BRÛLÉE' → 'creme brulee'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def exact(value) -> str | None:
    if isinstance(value, Decimal):
        value = format(value.normalize(), "f")   # 1.50 and 1.5 are one amount
    elif isinstance(value, (date, datetime)):
        value = value.isoformat()
    return _text(value)


def normalized(value) -> str | None:
    text = _text(value)
    return fold(text) or None if text is not None else None


def email(value) -> str | None:
    text = _text(value)
    return text.lower() if text is not None else None


def email_domain(value) -> str | None:
    text = _text(value)
    if text is None or "@" not in text:
        return None
    return text.rsplit("@", 1)[1].strip().lower() or None


def phone(value) -> str | None:
    digits = "".join(ch for ch in str(value) if ch.isdigit()) if value is not None else ""
    return digits[-PHONE_DIGITS:] or None


def fuzzy(value) -> str | None:
    text = normalized(value)
    if text is None:
        return None
    return _SPACES.sub(" ", _NOT_ALNUM.sub(" ", text)).strip() or None


def blocking_key(fuzzy_text: str) -> str:
    return fuzzy_text.replace(" ", "")[:BLOCK]


NORMALIZERS = {"exact": exact, "normalized": normalized, "email": email, "email_domain": email_domain,
               "phone": phone, "fuzzy": fuzzy}


@dataclass(frozen=True)
class KeyEntry:
    key: str                      # the hex digest the index is searched by
    length: int | None = None     # the first fuzzy text's length (a similarity bounds it: match.py)
    value: str | None = None      # the fuzzy texts, SEPARATOR-joined (None without fuzzy conditions)

    @property
    def texts(self) -> list[str]:
        return self.value.split(SEPARATOR) if self.value is not None else []


class RuleKeys:
    """A rule compiled for key making: `entry(values)` → the KeyEntry of a record, or None.
    `where`: the rule's `where` expression compiled (the Runtime's), None without one."""

    def __init__(self, rule: DuplicateRule, where=None):
        self.rule, self.where = rule, where
        self.name = rule.name
        self.parts = [(c.field, NORMALIZERS[c.match], c.match == "fuzzy") for c in rule.conditions]
        self.fields = rule.fields

    def entry(self, values: dict) -> KeyEntry | None:
        parts, texts = [], []
        for field, normalize, is_fuzzy in self.parts:
            value = normalize(values.get(field))
            if value is None:
                return None
            if is_fuzzy:
                texts.append(value)
                value = blocking_key(value)
            parts.append(value)
        digest = hashlib.blake2b(SEPARATOR.join(parts).encode("utf-8"), digest_size=16).hexdigest()
        if not texts:
            return KeyEntry(digest)
        return KeyEntry(digest, len(texts[0]), SEPARATOR.join(texts))
