"""Users, passwords and API tokens, on top of the record service (users are `user` records).

Sits above `records` and `security`: it creates users through the record service (so defaults,
validation and audit apply) and keeps credentials in the platform's own table.
"""
from __future__ import annotations

import functools
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update

from .records.errors import NotFound, ValidationFailed
from .security.actor import SYSTEM, Actor
from .security import audit
from .security.passwords import generate_password, hash_password, verify_password
from .security.tokens import CACHE_SECONDS, TokenStore
from .storage.engine import begin_write
from .storage.platform_tables import credentials


MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


class IdentityService:
    def __init__(self, engine, records):
        self.engine = engine
        self.records = records
        self.tokens = TokenStore(engine)
        self._actors: dict[uuid.UUID, tuple[float, Actor | None]] = {}
        self._lock = threading.Lock()

    def find_user(self, username: str) -> dict | None:
        return self.records.find_by(SYSTEM, "user", "username", username)

    def require_user(self, username: str) -> dict:
        user = self.find_user(username)
        if user is None:
            raise NotFound(f"there is no user '{username}'")
        return user

    def create_user(self, username: str, *, password: str | None = None, actor: Actor = SYSTEM,
                    **fields) -> tuple[dict, str | None]:
        """Create a user record and its credential. Returns (user, generated password or None)."""
        if self.find_user(username) is not None:
            raise ValidationFailed(f"user '{username}' already exists",
                                   fields={"username": ["must be unique: another user has this name"]})
        generated = None
        if password is None:
            password = generated = generate_password()
        if len(password) < 8:
            raise ValidationFailed("password must be at least 8 characters", fields={"password": ["too short"]})
        user = self.records.create(actor, "user", {"username": username, **fields})
        with begin_write(self.engine) as conn:
            conn.execute(insert(credentials).values(user_id=uuid.UUID(user["id"]),
                                                    password_hash=hash_password(password), failed_logins=0))
        return user, generated

    def set_password(self, user_id: uuid.UUID, password: str, *, actor: Actor | None = None) -> None:
        """Set (or reset) a password; with `actor` (an admin resetting someone's password) the
        reset is audited as `user.reset_password`, in the same transaction."""
        username = self.records.get(SYSTEM, "user", user_id, fields=["username"])["username"] if actor else ""
        with begin_write(self.engine) as conn:
            done = conn.execute(update(credentials).where(credentials.c.user_id == user_id)
                                .values(password_hash=hash_password(password), failed_logins=0, locked_until=None))
            if done.rowcount == 0:
                conn.execute(insert(credentials).values(user_id=user_id, password_hash=hash_password(password),
                                                        failed_logins=0))
            if actor is not None:
                audit.record(conn, actor, "user.reset_password", username)

    def check_password(self, username: str, password: str) -> Actor | None:
        actor, _reason = self.authenticate(username, password)
        return actor

    def authenticate(self, username: str, password: str) -> tuple[Actor | None, str]:
        """Password sign-in with lockout: after MAX_FAILURES wrong passwords in a row the account
        is locked for LOCKOUT; every attempt is audited. Returns (actor, "ok") or (None, reason)."""
        user = self.find_user(username) if isinstance(username, str) and username else None
        if user is None:
            verify_password(_dummy_hash(), password or "")  # same cost: don't reveal which names exist
            audit.record_now(self.engine, None, "login.failed", str(username)[:80], {"reason": "unknown user"})
            return None, "invalid"
        user_id = uuid.UUID(user["id"])
        now = datetime.now(timezone.utc)
        with begin_write(self.engine) as conn:
            row = conn.execute(select(credentials).where(credentials.c.user_id == user_id).with_for_update()).first()
            locked_until = row.locked_until.replace(tzinfo=timezone.utc) if row and row.locked_until and \
                row.locked_until.tzinfo is None else (row.locked_until if row else None)
            if user.get("active") is False:
                audit.record(conn, Actor(user_id, username), "login.failed", username, {"reason": "inactive"})
                return None, "invalid"
            if locked_until is not None and locked_until > now:
                audit.record(conn, Actor(user_id, username), "login.failed", username, {"reason": "locked"})
                return None, "locked"
            if row is None or not verify_password(row.password_hash, password or ""):
                failures = (row.failed_logins if row else 0) + 1
                values = {"failed_logins": failures}
                if failures >= MAX_FAILURES:
                    values.update(failed_logins=0, locked_until=now + LOCKOUT)
                if row is not None:
                    conn.execute(update(credentials).where(credentials.c.user_id == user_id).values(**values))
                audit.record(conn, Actor(user_id, username), "login.failed", username,
                             {"reason": "bad password", "locked": failures >= MAX_FAILURES})
                return None, "locked" if failures >= MAX_FAILURES else "invalid"
            conn.execute(update(credentials).where(credentials.c.user_id == user_id)
                         .values(failed_logins=0, locked_until=None))
            audit.record(conn, Actor(user_id, username), "login", username)
        return self.actor_for_user(user), "ok"

    def actor_for_user(self, user: dict) -> Actor:
        """An Actor carrying everything access decisions need: profile, role, permission sets
        (and groups of them) assigned to the user, and the public groups they belong to."""
        user_id = uuid.UUID(user["id"])
        sets, set_groups, groups = [], [], []
        rt = self.records.runtime()
        if "permission_set_assignment" in rt.objects:
            for a in self.records.find_all_by(SYSTEM, "permission_set_assignment", "user", user_id,
                                              fields=["permission_set", "kind"]):
                (set_groups if a.get("kind") == "permission_set_group" else sets).append(a["permission_set"])
        if "group_member" in rt.objects:
            groups = [m["group.name"] for m in self.records.find_all_by(SYSTEM, "group_member", "user", user_id,
                                                                         fields=["group.name"]) if m["group.name"]]
        return Actor(user_id, user["username"], profile=user.get("profile"), role=user.get("role"),
                     permission_sets=tuple(sorted(sets)), permission_set_groups=tuple(sorted(set_groups)),
                     groups=frozenset(groups))

    def actor_for_user_id(self, user_id: uuid.UUID) -> Actor | None:
        """The acting user for a browser session: None once the user is gone or inactive."""
        now = time.monotonic()
        cached = self._actors.get(user_id)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            user = self.records.get(SYSTEM, "user", user_id)
        except NotFound:
            user = None
        actor = self.actor_for_user(user) if user and user.get("active") is not False else None
        with self._lock:
            if len(self._actors) > 10000:
                self._actors.clear()
            self._actors[user_id] = (now, actor)
        return actor

    def actor_for_token(self, token: str) -> Actor | None:
        """The acting user of a valid token, if that user exists and is active (cached briefly)."""
        user_id = self.tokens.verify(token)
        return self.actor_for_user_id(user_id) if user_id is not None else None
