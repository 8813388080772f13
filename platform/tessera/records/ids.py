"""Record ids: time-ordered UUIDs (RFC 9562 version 7).

A v7 id starts with its creation time in milliseconds, so new rows land at the end of the primary
key's B-tree (and of the `(created_at, id)` list index) instead of on a random page of it: on a
1-million-row object a random (v4) id costs every insert a page that is likely not cached, on
SQLite and PostgreSQL alike (bulk inserts ran ~1.5× faster with v7 ids, tests/benchmarks). The
other 74 bits are random: two ids of the same millisecond collide with negligible probability.
Ids were never secrets (every read is checked against the actor's access), and the time they
reveal is the record's `created_at`, which any reader of the record sees anyway.

Hand-written because the standard library's `uuid.uuid7` arrives with Python 3.14 (we support
3.11), and bulk create wants a whole batch from one `os.urandom` call rather than a call per id.
"""
from __future__ import annotations

import os
import re
import time
import uuid

_VERSION_AND_VARIANT = (7 << 76) | (2 << 62)
# the bits left to chance: all but the 48-bit timestamp, the version nibble and the variant bits
_RANDOM_BITS = ((1 << 128) - 1) & ~((((1 << 48) - 1) << 80) | (0xF << 76) | (0x3 << 62))
_SAFE = uuid.SafeUUID.unknown


def _prefix() -> int:
    return ((time.time_ns() // 1_000_000) << 80) | _VERSION_AND_VARIANT


def new_id() -> uuid.UUID:
    return uuid.UUID(int=_prefix() | (int.from_bytes(os.urandom(16), "big") & _RANDOM_BITS))


def new_ids(n: int) -> list[uuid.UUID]:
    """`n` ids for one batch: one timestamp, one read of the random source.

    uuid.UUID(int=...) validates its argument (range checks, keyword handling): ~1 µs of a bulk
    create's budget per row. These ints are in range by construction, so the objects are built
    as UUID.__init__ would leave them — the same two slots it sets."""
    prefix = _prefix()
    raw = os.urandom(16 * n)
    from_bytes, new, set_slot, UUID = int.from_bytes, object.__new__, object.__setattr__, uuid.UUID
    out = []
    for start in range(0, 16 * n, 16):
        rid = new(UUID)
        set_slot(rid, "int", prefix | (from_bytes(raw[start:start + 16], "big") & _RANDOM_BITS))
        set_slot(rid, "is_safe", _SAFE)
        out.append(rid)
    return out


_ID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def id_from_text(text) -> uuid.UUID | None:
    """An id in its usual 8-4-4-4-12 form (as the API shows ids and OpenAPI's uuid format means);
    None for anything else, including the other spellings uuid.UUID accepts (braces, urn:, no dashes)."""
    return uuid.UUID(text) if isinstance(text, str) and _ID_TEXT.fullmatch(text) else None
