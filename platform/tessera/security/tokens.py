"""API tokens: `tsr_<id>_<secret>`, shown once, stored as sha256(secret), revocable, expiring.

The secret is 256 random bits, so a fast hash is right here (a slow hash defends guessable
passwords, not random keys). Verified tokens are cached for a few seconds per worker so the API
does not pay a query per request; revocation therefore takes effect within `CACHE_SECONDS`.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update

from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import api_tokens

PREFIX = "tsr"
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user_id: uuid.UUID
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(value):
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


class TokenStore:
    def __init__(self, engine):
        self.engine = engine
        self._cache: dict[str, tuple[float, uuid.UUID]] = {}
        self._lock = threading.Lock()

    def create(self, user_id: uuid.UUID, *, name: str = "", expires_in_days: int | None = 90) -> tuple[str, str]:
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc)
        expires = now + timedelta(days=expires_in_days) if expires_in_days else None
        with begin_write(self.engine) as conn:
            conn.execute(insert(api_tokens).values(id=token_id, user_id=user_id, secret_hash=_digest(secret),
                                                   name=name, created_at=now, expires_at=expires))
        return token_id, f"{PREFIX}_{token_id}_{secret}"

    def revoke(self, token_id: str) -> bool:
        with begin_write(self.engine) as conn:
            result = conn.execute(update(api_tokens).where(api_tokens.c.id == token_id,
                                                           api_tokens.c.revoked_at.is_(None))
                                  .values(revoked_at=datetime.now(timezone.utc)))
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if not k.startswith(f"{PREFIX}_{token_id}_")}
        return result.rowcount == 1

    def list(self, user_id: uuid.UUID | None = None) -> list[TokenInfo]:
        stmt = select(api_tokens).order_by(api_tokens.c.created_at)
        if user_id is not None:
            stmt = stmt.where(api_tokens.c.user_id == user_id)
        with begin_read(self.engine) as conn:
            return [TokenInfo(r.id, r.user_id, r.name, _aware(r.created_at), _aware(r.expires_at), _aware(r.revoked_at))
                    for r in conn.execute(stmt)]

    def verify(self, token: str) -> uuid.UUID | None:
        """The user id a valid, unrevoked, unexpired token belongs to; None otherwise."""
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        parts = token.split("_", 2) if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        with begin_read(self.engine) as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == parts[1])).first()
        if row is None or not hmac.compare_digest(row.secret_hash, _digest(parts[2])):
            return None
        wall = datetime.now(timezone.utc)
        if row.revoked_at is not None or (row.expires_at is not None and _aware(row.expires_at) <= wall):
            return None
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[token] = (now, row.user_id)
        return row.user_id
