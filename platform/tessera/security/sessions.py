"""Revocable browser sessions: a per-user session generation.

The signed session cookie carries the user id and the generation current at sign-in. Every browser
request compares it with the user's generation in `tessera_credential.session_generation`; logout,
a password change or reset, deactivation and a profile or role change bump it, so every session
signed in before stops working (a copied cookie included). Deactivation also revokes the user's API
tokens: reactivating someone does not bring old tokens back.

Reads are cached per worker for CACHE_SECONDS (like actors and tokens); a bump made through this
process's `SessionGenerations.forget` takes effect at once here, and within CACHE_SECONDS in other
workers.
"""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone

from sqlalchemy import func, select, update

from ..storage.engine import begin_read
from ..storage.platform_tables import api_tokens, credentials
from .tokens import CACHE_SECONDS


def bump(conn, user_id) -> None:
    """End every browser session of `user_id`, on the caller's connection (inside its transaction)."""
    col = credentials.c.session_generation
    conn.execute(update(credentials).where(credentials.c.user_id == user_id)
                 .values(session_generation=func.coalesce(col, 0) + 1))


def revoke_tokens(conn, user_id) -> None:
    """Revoke every API token of `user_id` (on deactivation), inside the caller's transaction."""
    conn.execute(update(api_tokens).where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
                 .values(revoked_at=datetime.now(timezone.utc)))


class SessionGenerations:
    def __init__(self, engine):
        self.engine = engine
        self._cache: dict[uuid.UUID, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def current(self, user_id: uuid.UUID) -> int:
        now = time.monotonic()
        cached = self._cache.get(user_id)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        with begin_read(self.engine) as conn:
            value = conn.execute(select(func.coalesce(credentials.c.session_generation, 0))
                                 .where(credentials.c.user_id == user_id)).scalar() or 0
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[user_id] = (now, value)
        return value

    def forget(self, user_id) -> None:
        """Drop the cached generation (after a bump in this process): the next request reads it."""
        with self._lock:
            self._cache.pop(user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id)), None)
