"""Engine setup: SQLite (embedded default) and PostgreSQL (psycopg 3), same code above this line.

SQLite trap: pysqlite does not make DDL transactional unless the connection runs in autocommit
mode and we emit BEGIN ourselves (SQLAlchemy's documented recipe). We also turn on foreign keys
(off by default in SQLite), WAL (readers don't block the writer) and a busy timeout.

Second SQLite trap: a deferred `BEGIN` takes the write lock at the first write. A transaction that
reads first (the record service loads the row, checks a lookup) and then writes while another
connection writes cannot upgrade: SQLite answers SQLITE_BUSY at once, without waiting busy_timeout
(waiting could deadlock), and the client sees "database is locked". So transactions that write
begin through `begin_write`, which on SQLite emits `BEGIN IMMEDIATE`: the write lock is taken up
front, and a second writer waits busy_timeout for it. Reads keep the deferred BEGIN (in WAL mode
they never wait for a writer).
"""
from __future__ import annotations

import functools
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError

DEFAULT_URL = "sqlite:///tessera.db"
_WRITE = "tessera_write"   # execution option: this connection's transaction will write


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("TESSERA_DATABASE_URL") or DEFAULT_URL


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 (SQLAlchemy 2.1 default, stated for 2.0)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


SQLITE_CACHE_KIB = 65_536   # per connection (negative cache_size: KiB, not pages)


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = normalize_url(database_url(url))
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    _configure_postgresql(engine)
    _ping_idle_connections(engine)
    return engine


IDLE_BEFORE_PING_S = 10.0


def _ping_idle_connections(engine: Engine) -> None:
    """pool_pre_ping's liveness check, for connections that sat idle only. pool_pre_ping costs a
    round trip on every checkout, i.e. every request; a connection used a moment ago is alive
    (and one broken since fails its statement, as it would after a ping). One idle for a while may
    have been cut by a server restart or a firewall: it is pinged, and when dead the pool replaces
    it (a DisconnectionError from a checkout listener makes the pool retry with a new connection)."""
    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_connection, record):
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("checked_in_at", 0.0) < IDLE_BEFORE_PING_S:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")   # the ping itself, as SQLAlchemy's do_ping sends it
            dbapi_connection.rollback()      # psycopg opened a transaction for it: leave the connection idle
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"an idle connection failed its ping: {exc}") from exc


def _configure_postgresql(engine: Engine) -> None:
    """JIT off for our sessions. PostgreSQL compiles a query to machine code once its estimated cost
    passes jit_above_cost; a report under sharing (an OR of hashed subplans) is estimated far above
    its real cost, and measured here the compilation took 410 of 477 ms on 100,000 rows
    (benchmark 11). Our queries are short or scan-bound, where JIT gains little and costs much."""
    @event.listens_for(engine, "connect")
    def _session_settings(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")      # a setting: no SQLAlchemy Core construct exists for it
        dbapi_connection.commit()                # outside any transaction the pool would roll back


# DISTANCE (expr/geo.py) compiles to radians/sin/cos/asin/sqrt. SQLite has them only when built
# with SQLITE_ENABLE_MATH_FUNCTIONS (3.35+; Debian's and python.org's builds are, some distributions'
# are not): where they are missing, each connection gets Python's, deterministic so SQLite may use
# them in indexes and CHECKs. NULL in gives NULL out, as SQL's own functions do.
_MATH_FUNCTIONS = {"radians": math.radians, "sin": math.sin, "cos": math.cos, "asin": math.asin, "sqrt": math.sqrt}


def _null_safe(function):
    def run(x):
        try:
            return None if x is None else function(float(x))
        except (ValueError, TypeError):   # asin(2), sqrt(-1): NULL, as SQLite's own math functions give
            return None
    return run


def _ensure_math_functions(dbapi_conn, cur, force: bool = False) -> None:
    try:
        if force:
            raise sqlite3.OperationalError("registering Python's math functions")
        cur.execute("SELECT sin(1), radians(1), asin(0), sqrt(1), cos(1)")
    except sqlite3.OperationalError:
        for name, function in _MATH_FUNCTIONS.items():
            dbapi_conn.create_function(name, 1, _null_safe(function), deterministic=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        # SQLite's own page cache defaults to 2 MB a connection: an object of 100,000 rows has
        # indexes past that, and every insert or lookup on them then reads pages back from the
        # OS (bulk inserts ran ~1.3× faster with 64 MB). Pages are allocated as used, up to this.
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        _ensure_math_functions(dbapi_conn, cur)
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def mark_write(conn: Connection) -> Connection:
    """Declare that `conn`'s next transaction writes (call before it begins): on SQLite it then
    begins with BEGIN IMMEDIATE (see the module docstring). No effect on PostgreSQL."""
    return conn.execution_options(**{_WRITE: True})


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a transaction that writes: commits on success, rolls back on error."""
    with engine.connect() as conn:
        mark_write(conn)
        with conn.begin():
            yield conn


@contextmanager
def begin_read(engine: Engine) -> Iterator[Connection]:
    """A unit of work that only reads. It ends with COMMIT, not with the pool's ROLLBACK on
    return: psycopg empties its prepared-statement cache on every ROLLBACK, so reads that ended
    that way were parsed and planned afresh each time. (Rolled back on error, like any other.)"""
    with engine.connect() as conn:
        with conn.begin():
            yield conn


def forget_prepared_statements(engine: Engine) -> None:
    """After the schema changed (a new metadata version), statements psycopg prepared on pooled
    connections may no longer fit it: a SELECT whose result columns changed type fails with "cached
    plan must not change result type". Replacing the pool drops them with their connections
    (checked-out ones are closed when returned). SQLite re-prepares by itself on schema changes."""
    if engine.dialect.name == "postgresql":
        engine.dispose()


def _is_stale_statement(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "0A000" and "cached plan must not change result type" in str(exc.orig)


def retry_on_stale_statements(method):
    """For a method of an object with an `engine` whose writes are one transaction: when the
    database refuses a statement prepared before another worker changed the schema (see
    forget_prepared_statements; this worker notices the new version at its next poll), drop the
    prepared statements and run the method once more. Safe: the refused transaction rolled back,
    and what ran before it only read."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except DBAPIError as exc:
            if not _is_stale_statement(exc):
                raise
            forget_prepared_statements(self.engine)
            return method(self, *args, **kwargs)
    return run


def is_sqlite(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "sqlite"
