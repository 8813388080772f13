"""Opaque, signed keyset cursors: the last row's sort values and id.

Signed (HMAC-SHA256) so a client cannot forge a cursor holding chosen values — a forged cursor
would let it probe values of rows or fields it cannot read by watching where pages start.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from .errors import BadQuery


def _encode_value(v):
    if isinstance(v, Decimal):
        return {"d": str(v)}
    if isinstance(v, datetime):
        return {"dt": v.isoformat()}
    if isinstance(v, date):
        return {"da": v.isoformat()}
    if isinstance(v, time):
        return {"t": v.isoformat()}
    if isinstance(v, UUID):
        return {"u": str(v)}
    return v


def _decode_value(v):
    if isinstance(v, dict):
        (kind, raw), = v.items()
        return {"d": Decimal, "dt": datetime.fromisoformat, "da": date.fromisoformat,
                "t": time.fromisoformat, "u": UUID}[kind](raw)
    return v


def encode(secret: bytes, key: str, values: list) -> str:
    payload = json.dumps({"k": key, "v": [_encode_value(v) for v in values]}, separators=(",", ":")).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode(secret: bytes, key: str, cursor: str) -> list:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, payload = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()[:16]):
            raise ValueError
        data = json.loads(payload)
        if data["k"] != key:
            raise ValueError
        return [_decode_value(v) for v in data["v"]]
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise BadQuery("invalid cursor (it must come from next_cursor of the same query)") from None
