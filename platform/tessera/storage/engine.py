"""Engine setup: SQLite (embedded default) and PostgreSQL (psycopg 3), same code above this line.

SQLite trap: pysqlite does not make DDL transactional unless the connection runs in autocommit
mode and we emit BEGIN ourselves (SQLAlchemy's documented recipe). We also turn on foreign keys
(off by default in SQLite), WAL (readers don't block the writer) and a busy timeout.
"""
from __future__ import annotations

import os

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

DEFAULT_URL = "sqlite:///tessera.db"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("TESSERA_DATABASE_URL") or DEFAULT_URL


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 (SQLAlchemy 2.1 default, stated for 2.0)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = normalize_url(database_url(url))
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


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
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN")


def is_sqlite(engine_or_conn) -> bool:
    return engine_or_conn.dialect.name == "sqlite"
