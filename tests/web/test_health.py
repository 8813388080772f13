"""/healthz (alive, no database) and /readyz (database, active metadata version, job queue):
200 with JSON, and 503 naming the failed check when the database is gone. Both databases."""
from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tessera.storage.engine import normalize_url
from tessera.web.app import create_app


def test_healthz_and_readyz_when_all_is_well(app, services):
    client = app.test_client()
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"
    r = client.get("/readyz")
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"status": "ready", "checks": {
        "database": {"ok": True}, "metadata": {"ok": True, "version": services.changes.active_number()},
        "queue": {"ok": True}}}


def test_readyz_is_503_when_the_database_is_gone(services, db_url):
    app = create_app(services=services)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    url = make_url(normalize_url(db_url))
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(url.database + suffix):
                os.remove(url.database + suffix)
        expected = "database file not found"
    else:   # PostgreSQL: the database refuses connections (its existing ones are cut)
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": url.database})
        expected = "OperationalError"
    try:
        for _ in range(2):   # the pool's broken connections do not make it pass the second time either
            r = client.get("/readyz")
            assert r.status_code == 503
            body = r.get_json()
            assert body["status"] == "unavailable"
            assert body["checks"] == {"database": {"ok": False, "error": expected}}
        assert client.get("/healthz").status_code == 200        # the process itself is fine
        assert not os.path.exists(url.database or "/nonexistent") or url.get_backend_name() != "sqlite"
    finally:
        if url.get_backend_name() != "sqlite":
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
            admin.dispose()
