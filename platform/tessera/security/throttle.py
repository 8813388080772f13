"""Sign-in throttling, counted in the database (`tessera_login_throttle`) so every worker agrees.

Policy — it slows guessing without handing an attacker a way to lock a real user out for long:

- per (client address, username): after PAIR_LIMIT failures within WINDOW, further attempts from
  that address for that name are refused (429 + Retry-After, the password is not checked) for
  PAIR_BACKOFF, doubling with each further failure up to MAX_BACKOFF. This is the main brake:
  someone guessing from one address is slowed to a crawl, while the real user on another
  address is not affected at all.
- per username, from any address: a generous ceiling, USERNAME_LIMIT failures within WINDOW,
  then USERNAME_BACKOFF. It stops a distributed guess against one account; an attacker with many
  addresses can hold it closed for at most USERNAME_BACKOFF at a time per USERNAME_LIMIT
  failures, and an administrator can clear it at once (`tessera user unlock`, Setup → Users).
- per client address, over all usernames: ADDRESS_LIMIT failures within WINDOW, then
  ADDRESS_BACKOFF (one address spraying one password over many names).

A successful sign-in clears the (address, username) and username counters. Refusals while blocked
are not counted (they cannot extend a block). Unknown usernames are counted exactly like known
ones, so a 429 reveals nothing about which accounts exist.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..storage.engine import begin_read, begin_write
from ..storage.platform_tables import login_throttle

WINDOW = timedelta(minutes=15)
PAIR_LIMIT, PAIR_BACKOFF = 5, timedelta(seconds=30)
USERNAME_LIMIT, USERNAME_BACKOFF = 50, timedelta(minutes=5)
ADDRESS_LIMIT, ADDRESS_BACKOFF = 100, timedelta(minutes=15)
MAX_BACKOFF = timedelta(minutes=15)


def _norm(username: str) -> str:
    return (username or "").strip().lower()[:80]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _keys(address: str, username: str):
    """(key, username column, limit, backoff) of each counter an attempt touches."""
    name = _norm(username)
    return [(_digest(f"a:{address}|u:{name}"), name, PAIR_LIMIT, PAIR_BACKOFF),
            (_digest(f"u:{name}"), name, USERNAME_LIMIT, USERNAME_BACKOFF),
            (_digest(f"a:{address}"), None, ADDRESS_LIMIT, ADDRESS_BACKOFF)]


def _aware(value):
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def retry_after(engine, address: str, username: str) -> int:
    """Seconds until this (address, username) may try again; 0 when it may now."""
    now = datetime.now(timezone.utc)
    keys = [k for k, *_ in _keys(address, username)]
    with begin_read(engine) as conn:
        blocked = [_aware(b) for b in conn.execute(select(login_throttle.c.blocked_until)
                                                   .where(login_throttle.c.key.in_(keys))).scalars() if b]
    wait = max((b - now).total_seconds() for b in blocked) if blocked else 0
    return max(0, int(wait + 0.999))


def record_failure(engine, address: str, username: str) -> None:
    now = datetime.now(timezone.utc)
    with begin_write(engine) as conn:
        for key, name, limit, backoff in _keys(address, username):
            t = login_throttle
            row = conn.execute(select(t).where(t.c.key == key).with_for_update()).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(t).values(key=key, username=name, failures=1, window_start=now,
                                                      blocked_until=now + backoff if limit <= 1 else None))
                    continue
                except IntegrityError:   # another worker counted this key's first failure
                    row = conn.execute(select(t).where(t.c.key == key).with_for_update()).first()
            failures = row.failures + 1
            start = _aware(row.window_start)
            if now - start > WINDOW:
                failures, start = 1, now
            blocked = _aware(row.blocked_until)
            if failures >= limit:
                blocked = now + min(backoff * (2 ** min(failures - limit, 10)), MAX_BACKOFF)
            conn.execute(update(t).where(t.c.key == key)
                         .values(failures=failures, window_start=start, blocked_until=blocked))


def record_success(engine, address: str, username: str) -> None:
    pair, name_key, _address = (k for k, *_ in _keys(address, username))
    with begin_write(engine) as conn:
        conn.execute(delete(login_throttle).where(login_throttle.c.key.in_([pair, name_key])))


def unlock(conn, username: str) -> int:
    """Clear every counter of `username` (its own and each address's); returns how many."""
    return conn.execute(delete(login_throttle).where(login_throttle.c.username == _norm(username))).rowcount
