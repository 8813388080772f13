"""The candidates of a record under a rule, from the keys table (dedupe/storage.py).

Exact kinds of match: the records whose key equals the record's (one index lookup).
Fuzzy conditions: the key holds their blocking key (the first letters), so the lookup gives the
candidates; an indel similarity of at least t also bounds the other text's length — with lengths
a and b, the distance is at least |a - b| and the similarity 1 - distance / (a + b), so
b lies within [a·t/(2-t), a·(2-t)/t] — and that range is part of the indexed lookup. The texts of
the candidates left are scored in Python with rapidfuzz (`fuzz.ratio`, the normalized indel
similarity, in C++; `score_cutoff` stops early below the threshold): only candidates, never the
table. A rule's candidates are capped (MAX_CANDIDATES): a blocking key shared by more records
than that scores the first ones by id, a bound on the cost of any one write.
"""
from __future__ import annotations

import math
from functools import lru_cache

from rapidfuzz import fuzz
from sqlalchemy import bindparam, select

from .keys import SEPARATOR, KeyEntry, RuleKeys
from .storage import keys_table

MAX_MATCHES = 50          # duplicates reported per record and rule
MAX_CANDIDATES = 5_000    # fuzzy candidates scored per record and rule
_IN_CHUNK = 2_000         # keys per statement of a bulk lookup


def length_range(length: int, threshold: float) -> tuple[int, int]:
    """The lengths another text may have and still reach `threshold` against one of `length`."""
    return math.ceil(length * threshold / (2 - threshold) - 1e-9), math.floor(length * (2 - threshold) / threshold + 1e-9)


@lru_cache(maxsize=1024)
def _lookup(object_name: str, fuzzy: bool, exclude: bool):
    t = keys_table(object_name)
    stmt = select(t.c.record_id, t.c.value).where(t.c.rule == bindparam("rule"), t.c.key == bindparam("key"))
    if fuzzy:
        stmt = stmt.where(t.c.length.between(bindparam("lo"), bindparam("hi")))
    if exclude:
        stmt = stmt.where(t.c.record_id != bindparam("self"))
    return stmt.limit(bindparam("cap"))


@lru_cache(maxsize=1024)
def _lookup_many(object_name: str):
    t = keys_table(object_name)
    return select(t.c.key, t.c.record_id, t.c.value).where(
        t.c.rule == bindparam("rule"), t.c.key.in_(bindparam("keys", expanding=True)))


def score(rule: RuleKeys, entry: KeyEntry, other_value: str | None) -> float | None:
    """The least similarity (0..1) of the fuzzy texts, None below a threshold; 1.0 without fuzzy
    conditions (the keys are equal)."""
    if entry.value is None:
        return 1.0
    if other_value is None:
        return None
    least = 1.0
    for cond, mine, theirs in zip(rule.rule.fuzzy, entry.texts, other_value.split(SEPARATOR)):
        similarity = fuzz.ratio(mine, theirs, score_cutoff=cond.threshold * 100) / 100
        if similarity < cond.threshold or similarity == 0:
            return None
        least = min(least, similarity)
    return least


def _ranked(rule, entry, rows) -> list[tuple[object, float]]:
    scored = [(rid, s) for rid, value in rows if (s := score(rule, entry, value)) is not None]
    scored.sort(key=lambda item: -item[1])
    return scored


def find(conn, object_name: str, rule: RuleKeys, entry: KeyEntry, exclude=None) -> list[tuple[object, float]]:
    """[(record id, similarity)], best first; `exclude`: the record itself. At most MAX_MATCHES
    by an exact key, unless the rule's `where` may set some aside (the caller applies it)."""
    fuzzy = entry.length is not None
    cap = MAX_CANDIDATES if fuzzy or rule.where is not None else MAX_MATCHES
    params = {"rule": rule.name, "key": entry.key, "cap": cap}
    if fuzzy:
        params["lo"], params["hi"] = length_range(entry.length, rule.rule.fuzzy[0].threshold)
    if exclude is not None:
        params["self"] = exclude
    rows = conn.execute(_lookup(object_name, fuzzy, exclude is not None), params).all()
    return _ranked(rule, entry, rows)


def find_many(conn, object_name: str, rule: RuleKeys, entries: dict) -> dict:
    """A bulk write's lookups: {index: KeyEntry} → {index: [(record id, similarity)]} for the
    indexes that have matches among the saved records."""
    by_key: dict[str, list] = {}
    for index, entry in entries.items():
        by_key.setdefault(entry.key, []).append(index)
    found: dict[str, list] = {}
    keys = list(by_key)
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start:start + _IN_CHUNK]
        for key, rid, value in conn.execute(_lookup_many(object_name), {"rule": rule.name, "keys": chunk}):
            found.setdefault(key, []).append((rid, value))
    out = {}
    for key, rows in found.items():
        for index in by_key[key]:
            ranked = _ranked(rule, entries[index], rows)
            if ranked:
                out[index] = ranked
    return out


def within_batch(rule: RuleKeys, entries: dict) -> dict:
    """Rows of one bulk write that match an earlier row of it: {index: [earlier index, ...]}."""
    by_key: dict[str, list] = {}
    out = {}
    for index in sorted(entries):
        entry = entries[index]
        earlier = [i for i in by_key.get(entry.key, ()) if score(rule, entry, entries[i].value) is not None]
        if earlier:
            out[index] = earlier[:MAX_MATCHES]
        by_key.setdefault(entry.key, []).append(index)
    return out
