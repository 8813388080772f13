"""Users, passwords and API tokens, on top of the record service (users are `user` records).

Sits above `records` and `security`: it creates users through the record service (so defaults,
validation and audit apply) and keeps credentials in the platform's own table.
"""
from __future__ import annotations

import functools
import threading
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from .records.errors import NotFound, ValidationFailed
from .security.actor import SYSTEM, Actor
from .records.user_rights import username_problem
from .security import audit, password_policy, sessions, throttle
from .security.passwords import generate_password, hash_password, verify_password
from .security.sessions import SessionGenerations
from .security.tokens import CACHE_SECONDS, TokenStore
from .storage.engine import begin_read, begin_write
from .storage.platform_tables import credentials


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password sign-in: `actor` when it succeeded; else `retry_after` > 0 when
    throttled (answered without checking the password), 0 for a wrong name or password."""
    actor: Actor | None
    retry_after: int = 0
    session_generation: int = 0


class IdentityService:
    def __init__(self, engine, records):
        self.engine = engine
        self.records = records
        self.tokens = TokenStore(engine)
        self.sessions = SessionGenerations(engine)
        self._actors: dict[uuid.UUID, tuple[float, Actor | None]] = {}
        self._lock = threading.Lock()
        records.on_user_change.append(self.forget)

    def forget(self, user_id) -> None:
        """Drop what this process cached about a user (after a change to their rights or sessions)."""
        user_id = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
        with self._lock:
            self._actors.pop(user_id, None)
        self.sessions.forget(user_id)

    def find_user(self, username: str) -> dict | None:
        return self.records.find_by(SYSTEM, "user", "username", username)

    def require_user(self, username: str) -> dict:
        user = self.find_user(username)
        if user is None:
            raise NotFound(f"there is no user '{username}'")
        return user

    def password_policy(self) -> password_policy.PasswordPolicy:
        return password_policy.load(self.engine)

    def check_password_policy(self, password, username: str) -> None:
        """422 on `password` when the org's policy refuses it (security/password_policy.py)."""
        problems = self.password_policy().problems(password, username)
        if problems:
            raise ValidationFailed(f"password: {problems[0]}", fields={"password": problems})

    def create_user(self, username: str, *, password: str | None = None, actor: Actor = SYSTEM,
                    **fields) -> tuple[dict, str | None]:
        """Create a user record and its credential. Returns (user, generated password or None)."""
        problem = username_problem(username)
        if problem:
            raise ValidationFailed(f"username: {problem}", fields={"username": [problem]})
        if isinstance(username, str) and self.find_user(username) is not None:
            raise ValidationFailed(f"user '{username}' already exists",
                                   fields={"username": ["must be unique: another user has this name"]})
        generated = None
        if password is None:
            password = generated = generate_password()
        self.check_password_policy(password, username if isinstance(username, str) else "")
        user = self.records.create(actor, "user", {"username": username, **fields})
        with begin_write(self.engine) as conn:
            conn.execute(insert(credentials).values(user_id=uuid.UUID(user["id"]),
                                                    password_hash=hash_password(password), failed_logins=0,
                                                    session_generation=0))
        return user, generated

    def set_password(self, user_id: uuid.UUID, password: str, *, actor: Actor | None = None) -> None:
        """Set (or reset) a password, checked against the policy; every browser session of the user
        ends. With `actor` (an admin resetting someone's password) the reset is audited as
        `user.reset_password`, in the same transaction."""
        username = self.records.get(SYSTEM, "user", user_id, fields=["username"])["username"]
        self.check_password_policy(password, username)
        with begin_write(self.engine) as conn:
            done = conn.execute(update(credentials).where(credentials.c.user_id == user_id)
                                .values(password_hash=hash_password(password), failed_logins=0, locked_until=None))
            if done.rowcount == 0:
                conn.execute(insert(credentials).values(user_id=user_id, password_hash=hash_password(password),
                                                        failed_logins=0, session_generation=0))
            sessions.bump(conn, user_id)
            if actor is not None:
                audit.record(conn, actor, "user.reset_password", username)
        self.forget(user_id)

    def change_own_password(self, user_id: uuid.UUID, current: str, new: str, *, address: str = "local") -> int:
        """A user changing their own password: the current one must be right (a wrong one counts
        as a failed sign-in for throttling, and is refused while throttled), the new one must pass
        the policy. Every other session of the user ends; returns the new session generation, for
        the caller to keep its own session. Audited as `user.change_password`."""
        username = self.records.get(SYSTEM, "user", user_id, fields=["username"])["username"]
        if throttle.retry_after(self.engine, address, username):
            raise ValidationFailed("current_password: too many wrong attempts: try again later",
                                   fields={"current_password": ["too many wrong attempts: try again later"]})
        with begin_read(self.engine) as conn:
            row = conn.execute(select(credentials.c.password_hash).where(credentials.c.user_id == user_id)).first()
        if row is None or not verify_password(row.password_hash, current if isinstance(current, str) else ""):
            throttle.record_failure(self.engine, address, username)
            raise ValidationFailed("current_password: is not your current password",
                                   fields={"current_password": ["is not your current password"]})
        if isinstance(new, str) and new == current:
            raise ValidationFailed("password: must differ from the current password",
                                   fields={"password": ["must differ from the current password"]})
        self.set_password(user_id, new)
        audit.record_now(self.engine, Actor(user_id, username), "user.change_password", username)
        return self.sessions.current(user_id)

    def end_sessions(self, user_id: uuid.UUID) -> None:
        """Sign the user out everywhere (logout ends every session of theirs, copied cookies too)."""
        with begin_write(self.engine) as conn:
            sessions.bump(conn, user_id)
        self.forget(user_id)

    def unlock(self, username: str, *, actor: Actor) -> int:
        """Clear the sign-in throttling of `username` (every address), audited as `user.unlock`."""
        with begin_write(self.engine) as conn:
            cleared = throttle.unlock(conn, username)
            conn.execute(update(credentials).where(credentials.c.user_id.in_(
                [uuid.UUID(u["id"]) for u in [self.find_user(username)] if u]))
                .values(failed_logins=0, locked_until=None))
            audit.record(conn, actor, "user.unlock", username, {"cleared": cleared})
        return cleared

    def check_password(self, username: str, password: str) -> Actor | None:
        return self.sign_in(username, password).actor

    def sign_in(self, username: str, password: str, *, address: str = "local") -> SignIn:
        """Password sign-in, throttled per address and username (security/throttle.py). Unknown,
        inactive and wrong-password attempts get the same answer after the same work (one password
        hash verification), so neither the answer nor its timing says which accounts exist. Every
        attempt is audited."""
        name = username if isinstance(username, str) else ""
        subject = name[:80]
        wait = throttle.retry_after(self.engine, address, name)
        if wait:
            audit.record_now(self.engine, None, "login.throttled", subject, {"address": address, "retry_after": wait})
            return SignIn(None, retry_after=wait)
        user = self.find_user(name) if name and username_problem(name) is None else None
        row = None
        if user is not None:
            with begin_read(self.engine) as conn:
                row = conn.execute(select(credentials).where(credentials.c.user_id == uuid.UUID(user["id"]))).first()
        ok = verify_password(row.password_hash if row else _dummy_hash(), password if isinstance(password, str) else "")
        if user is None or row is None or not ok or user.get("active") is False:
            reason = ("unknown user" if user is None else "inactive" if user.get("active") is False and ok
                      else "bad password")
            throttle.record_failure(self.engine, address, name)
            actor = Actor(uuid.UUID(user["id"]), name) if user else None
            audit.record_now(self.engine, actor, "login.failed", subject, {"reason": reason, "address": address})
            return SignIn(None)
        throttle.record_success(self.engine, address, name)
        actor = Actor(uuid.UUID(user["id"]), name)
        audit.record_now(self.engine, actor, "login", name, {"address": address})
        return SignIn(self.actor_for_user(user), session_generation=row.session_generation or 0)

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

    def actor_for_session(self, user_id: uuid.UUID, generation) -> Actor | None:
        """The acting user of a browser session signed in at `generation`: None once the user is
        gone or inactive, or their sessions were ended since (logout, password, rights change)."""
        if not isinstance(generation, int) or generation != self.sessions.current(user_id):
            return None
        return self.actor_for_user_id(user_id)

    def actor_for_user_id(self, user_id: uuid.UUID) -> Actor | None:
        """The acting user for a session or token: None once the user is gone or inactive."""
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
