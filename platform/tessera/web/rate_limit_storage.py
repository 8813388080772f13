"""Rate-limit counters in the org's own database: a `limits` storage over `tessera_rate_limit`.

Why the database: `tessera serve` runs several gunicorn worker processes, and a limit must count
every worker's requests. The libraries' shared storages (Redis, Memcached, MongoDB) are one more
service to run; the embedded default needs none, and the database is already shared by every
worker (the sign-in throttle and the job queue live there for the same reason). Flask-Limiter's
in-memory storage would give each worker its own count, i.e. N times the limit.

Fixed windows only (Flask-Limiter's default strategy): one row per key, its hits and the end of
its window, added to by an atomic upsert. The counters need no durability — a crash losing the last
few hits is harmless — so PostgreSQL commits them without waiting for the WAL flush.

Hits are written in small batches: a process adds a key's hits to the row at once while its count
is low (the first BATCH_FROM hits of a window: a sign-in limit of 10 is exact), then lets up to a
twentieth of the count gather in memory — at most FLUSH_SECONDS old — before the next upsert. A
busy API user's requests then cost one write in several instead of two writes each (every GET
would otherwise take SQLite's one write lock), and each worker process overshoots a limit by at
most ~5 %.
"""
from __future__ import annotations

import itertools
import threading
import time

from limits.storage import Storage
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import rate_limits

SCHEME = "tessera-db"
PRUNE_EVERY = 1000   # hits of one process between deletions of expired windows
BATCH_FROM = 20      # a key's hits are written one by one until its window has this many
BATCH_FRACTION = 20  # then up to count / this many gather in memory between writes
FLUSH_SECONDS = 1.0  # and for at most this long


class DatabaseStorage(Storage):
    """`limits` storage (registered as `tessera-db://`); Flask-Limiter passes `engine` from its
    storage_options."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, engine=None, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if engine is None:
            raise ValueError("the tessera-db rate-limit storage needs the database engine (storage_options)")
        self.engine = engine
        self._hits = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[str, list] = {}   # key -> [unwritten hits, count last written, when, window end]

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None and now < pending[3] and pending[1] >= BATCH_FROM \
                    and pending[0] + amount <= pending[1] // BATCH_FRACTION and now - pending[2] < FLUSH_SECONDS:
                pending[0] += amount
                return pending[1] + pending[0]
            unwritten = pending[0] if pending is not None and now < pending[3] else 0
            self._pending.pop(key, None)
        hits, window_end = self._write(key, expiry, amount + unwritten, now)
        with self._lock:
            if key not in self._pending:
                self._pending[key] = [0, hits, now, window_end]
            if len(self._pending) > 10_000:    # keys of windows that ended: forgotten
                for old in [k for k, p in self._pending.items() if p[3] <= now]:
                    del self._pending[old]
        return hits

    def _write(self, key: str, expiry: int, amount: int, now: float) -> tuple[int, float]:
        """Add `amount` hits to the key's window (a new window if it ended): (hits, window end)."""
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(rate_limits).values(key=key, hits=amount, expires_at=now + expiry)
        live = rate_limits.c.expires_at > now        # the stored window is still running
        statement = statement.on_conflict_do_update(
            index_elements=[rate_limits.c.key],
            set_={"hits": case((live, rate_limits.c.hits + amount), else_=amount),
                  "expires_at": case((live, rate_limits.c.expires_at), else_=now + expiry)},
        ).returning(rate_limits.c.hits, rate_limits.c.expires_at)
        with begin_write(self.engine) as conn:
            if conn.dialect.name == "postgresql":
                # a setting, for this transaction only: no SQLAlchemy Core construct exists for it
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            hits, window_end = conn.execute(statement).one()
            if next(self._hits) % PRUNE_EVERY == 0:
                conn.execute(delete(rate_limits).where(rate_limits.c.expires_at < now))
        return hits, window_end

    def get(self, key: str) -> int:
        with begin_read(self.engine) as conn:
            hits = conn.execute(select(rate_limits.c.hits).where(
                rate_limits.c.key == key, rate_limits.c.expires_at > time.time())).scalar()
        return hits or 0

    def get_expiry(self, key: str) -> float:
        with begin_read(self.engine) as conn:
            expires = conn.execute(select(rate_limits.c.expires_at).where(rate_limits.c.key == key)).scalar()
        return max(expires or 0.0, time.time())

    def check(self) -> bool:
        try:
            with begin_read(self.engine) as conn:
                conn.execute(select(func.count()).select_from(rate_limits))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with begin_write(self.engine) as conn:
            return conn.execute(delete(rate_limits)).rowcount

    def clear(self, key: str) -> None:
        with begin_write(self.engine) as conn:
            conn.execute(delete(rate_limits).where(rate_limits.c.key == key))
